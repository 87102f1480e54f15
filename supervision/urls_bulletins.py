"""Bulletins (通报) of rankings, their downloads, the commentary, and a unit's rank history."""

from __future__ import annotations

from django.urls import path

from supervision import views_bulletins as views

urlpatterns = [
    path("rankings/<int:pk>/bulletin/", views.ranking_bulletin, name="ranking_bulletin"),
    path(
        "rankings/<int:pk>/bulletin.xlsx",
        views.ranking_bulletin_xlsx,
        name="ranking_bulletin_xlsx",
    ),
    path(
        "rankings/<int:pk>/bulletin.docx",
        views.ranking_bulletin_docx,
        name="ranking_bulletin_docx",
    ),
    path("rankings/<int:pk>/commentary/", views.ranking_commentary, name="ranking_commentary"),
    path(
        "rankings/scheme/<int:scheme_pk>/unit/<int:unit_pk>/",
        views.ranking_unit_history,
        name="ranking_unit_history",
    ),
]
