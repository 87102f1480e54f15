from django.urls import path

from projects.views import detail, edit, home, lists, photos, reports

urlpatterns = [
    path("", home.home, name="home"),
    path("projects/", lists.project_list, name="project_list"),
    path("projects/export.xlsx", lists.project_list_export, name="project_list_export"),
    path("projects/new/", edit.project_create, name="project_create"),
    path("projects/<int:pk>/", detail.project_detail, name="project_detail"),
    path("projects/<int:pk>/edit/", edit.project_edit, name="project_edit"),
    path("projects/<int:pk>/stage/", edit.project_stage, name="project_stage"),
    path(
        "projects/<int:pk>/milestones/<int:milestone_pk>/complete/",
        edit.milestone_complete,
        name="milestone_complete",
    ),
    path(
        "projects/<int:pk>/milestones/<int:milestone_pk>/revise/",
        edit.milestone_revise,
        name="milestone_revise",
    ),
    path("projects/<int:pk>/reports/<str:period>/", reports.report_form, name="report_form"),
    path(
        "photos/<int:pk>/<str:variant>/",
        photos.report_photo,
        name="report_photo",
    ),
    path(
        "projects/<int:pk>/reports/<str:period>/review/",
        reports.report_review,
        name="report_review",
    ),
]
