from django.urls import path

from supervision import views_dashboard

urlpatterns = [
    path("dashboard/", views_dashboard.dashboard_page, name="dashboard"),
    path("dashboard/refresh/", views_dashboard.dashboard_refresh, name="dashboard_refresh"),
    path("dashboard/export.xlsx", views_dashboard.dashboard_export, name="dashboard_export"),
    path("units/<int:pk>/", views_dashboard.unit_scorecard, name="unit_scorecard"),
]
