from django.urls import path

from supervision import views

urlpatterns = [
    path("supervision/alerts/", views.alert_board, name="alert_board"),
    path("rankings/", views.ranking_index, name="ranking_index"),
    path("rankings/<int:pk>/", views.ranking_detail, name="ranking_detail"),
    path("rankings/<int:pk>/publish/", views.ranking_publish, name="ranking_publish"),
]
