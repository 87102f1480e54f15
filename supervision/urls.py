from django.urls import include, path

from supervision import notification_views, views
from supervision.issues import views as issue_views

urlpatterns = [
    path("supervision/alerts/", views.alert_board, name="alert_board"),
    path("rankings/", views.ranking_index, name="ranking_index"),
    path("rankings/<int:pk>/", views.ranking_detail, name="ranking_detail"),
    path("rankings/<int:pk>/publish/", views.ranking_publish, name="ranking_publish"),
    path("rankings/<int:pk>/recompute/", views.ranking_recompute, name="ranking_recompute"),
    path("notifications/", notification_views.notification_inbox, name="notification_inbox"),
    path(
        "notifications/preferences/",
        notification_views.notification_preferences,
        name="notification_preferences",
    ),
    path(
        "notifications/read-all/",
        notification_views.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/<int:pk>/read/",
        notification_views.notification_read,
        name="notification_read",
    ),
    path("supervision/issues/", issue_views.issue_list, name="issue_list"),
    path("supervision/issues/export/", issue_views.issue_export, name="issue_export"),
    path("supervision/issues/new/", issue_views.issue_create, name="issue_create"),
    path("supervision/issues/ask/", issue_views.issue_request_help, name="issue_request_help"),
    path("supervision/issues/<int:pk>/", issue_views.issue_detail, name="issue_detail"),
    path(
        "supervision/issues/<int:pk>/<slug:action>/",
        issue_views.issue_action,
        name="issue_action",
    ),
    path(
        "supervision/attachments/<int:pk>/",
        issue_views.issue_attachment,
        name="issue_attachment",
    ),
    path("", include("supervision.inspections.urls")),
    path("", include("supervision.dashboard.urls")),
    path("", include("supervision.urls_bulletins")),
]
