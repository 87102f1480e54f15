from django.urls import path

from projects.views import account, detail, edit, home, ledgers, lists, photos, reports

urlpatterns = [
    path("", home.home, name="home"),
    path("accounts/tokens/", account.api_tokens, name="api_tokens"),
    path("accounts/tokens/<int:pk>/revoke/", account.api_token_revoke, name="api_token_revoke"),
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
    path("ledgers/", ledgers.ledger_index, name="ledger_index"),
    path("ledgers/template/projects.xlsx", ledgers.ledger_template, name="ledger_template"),
    path("ledgers/import/<slug:kind>/", ledgers.ledger_upload, name="ledger_upload"),
    path("ledgers/imports/<int:pk>/", ledgers.ledger_import_detail, name="ledger_import_detail"),
    path(
        "ledgers/imports/<int:pk>/status/",
        ledgers.ledger_import_status,
        name="ledger_import_status",
    ),
    path(
        "ledgers/imports/<int:pk>/confirm/",
        ledgers.ledger_import_confirm,
        name="ledger_import_confirm",
    ),
    path(
        "ledgers/imports/<int:pk>/submit/",
        ledgers.ledger_import_submit,
        name="ledger_import_submit",
    ),
    path(
        "ledgers/imports/<int:pk>/cancel/",
        ledgers.ledger_import_cancel,
        name="ledger_import_cancel",
    ),
    path(
        "ledgers/imports/<int:pk>/recheck/",
        ledgers.ledger_import_recheck,
        name="ledger_import_recheck",
    ),
    path("ledgers/export/<slug:key>/", ledgers.ledger_export_view, name="ledger_export"),
]
