from django.urls import path

from supervision.dashboard import views as dashboard_views

urlpatterns = [
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/refresh/", dashboard_views.dashboard_refresh, name="dashboard_refresh"),
    path("dashboard/export.xlsx", dashboard_views.dashboard_export, name="dashboard_export"),
    path("units/<int:pk>/", dashboard_views.unit_scorecard, name="unit_scorecard"),
]
