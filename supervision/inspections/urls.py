"""Pages of inspections (督查检查), meetings (会议交办) and project notices (亮红牌/限期通知)."""

from __future__ import annotations

from django.urls import path

from supervision.inspections import views

urlpatterns = [
    path("supervision/inspections/", views.inspection_list, name="inspection_list"),
    path("supervision/inspections/new/", views.inspection_create, name="inspection_create"),
    path("supervision/inspections/<int:pk>/", views.inspection_detail, name="inspection_detail"),
    path("supervision/inspections/<int:pk>/edit/", views.inspection_edit, name="inspection_edit"),
    path(
        "supervision/inspections/<int:pk>/issues/",
        views.inspection_issues,
        name="inspection_issues",
    ),
    path(
        "supervision/inspections/<int:pk>/scores/",
        views.inspection_scores,
        name="inspection_scores",
    ),
    path(
        "supervision/inspections/<int:pk>/photos/",
        views.inspection_photos,
        name="inspection_photos",
    ),
    path(
        "supervision/inspections/<int:pk>/photos/<int:photo_pk>/remove/",
        views.inspection_photo_remove,
        name="inspection_photo_remove",
    ),
    path(
        "supervision/inspection-photos/<int:photo_pk>/<str:variant>/",
        views.inspection_photo,
        name="inspection_photo",
    ),
    path("supervision/meetings/", views.meeting_list, name="meeting_list"),
    path("supervision/meetings/new/", views.meeting_create, name="meeting_create"),
    path("supervision/meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("supervision/meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path(
        "supervision/meetings/<int:pk>/decisions/",
        views.meeting_decisions,
        name="meeting_decisions",
    ),
    path("supervision/projects/<int:pk>/notices/", views.project_notices, name="project_notices"),
    path("supervision/notices/<int:pk>/settle/", views.notice_settle, name="notice_settle"),
]
