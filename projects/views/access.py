"""The one place views decide access to projects (healthchecks' ``_get_rw_check_for_user``).

A project outside the user's scope is a 404 (its existence is not revealed); a visible project
the user may not change is a 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from projects import selectors
from projects.models import Project


def visible_project(request: HttpRequest, pk: int) -> Project:
    project = selectors.visible_projects(request.user).with_related().filter(pk=pk).first()
    if project is None:
        raise Http404(_("No such project in your scope."))
    return project


def editable_project(request: HttpRequest, pk: int) -> Project:
    project = visible_project(request, pk)
    if not selectors.can_edit_project(request.user, project):
        raise PermissionDenied(_("You may not change this project."))
    return project
