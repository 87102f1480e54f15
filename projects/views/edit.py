"""Forms that change a project: create/edit, stage, milestones. Each goes through a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects import audit, selectors, services
from projects.forms import MilestoneCompleteForm, MilestoneReviseForm, ProjectForm, StageForm
from projects.models import Milestone, Project
from projects.views.access import editable_project
from projects.views.detail import render_project_page


def add_service_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    if not selectors.scope_paths(request.user, selectors.EDIT_ROLES) and not selectors.is_global(
        request.user
    ):
        raise PermissionDenied(_("You may not create projects."))
    form = ProjectForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            project = services.project_create(
                actor=request.user,
                lead_unit=fields.pop("lead_unit"),
                name=fields.pop("name"),
                category=fields.pop("category"),
                **fields,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The project has been registered."))
            return redirect("project_detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form, "project": None})


@login_required
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = editable_project(request, pk)
    form = ProjectForm(request.POST or None, instance=project, user=request.user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or None
        try:
            services.project_update(
                project=project,
                actor=request.user,
                expected_version=expected,
                **form.service_fields(),
            )
        except services.VersionConflict as error:
            current = Project.objects.get(pk=pk)
            changes, latest = audit.changes_since(current, error.expected)
            conflict = {"message": str(error), "changes": changes, "latest": latest}
            # Keep what the user typed; the next save is deliberate, against the new version.
            data = request.POST.copy()
            data["version"] = current.version
            form = ProjectForm(data, instance=current, user=request.user)
            form.is_valid()
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The project has been saved."))
            return redirect("project_detail", pk=pk)
    return render(
        request,
        "projects/project_form.html",
        {"form": form, "project": project, "conflict": conflict},
    )


@login_required
@require_POST
def project_stage(request: HttpRequest, pk: int) -> HttpResponse:
    project = editable_project(request, pk)
    form = StageForm(request.POST, project=project)
    if form.is_valid():
        try:
            services.project_change_stage(
                project=project,
                to_stage=form.cleaned_data["to_stage"],
                changed_on=form.cleaned_data["changed_on"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The stage has been changed."))
            return redirect(f"{project_url(pk)}#stage")
    return render_project_page(request, project, stage_form=form)


def _milestone_action(
    request: HttpRequest, pk: int, milestone_pk: int, kind: str, form_class, apply, done
) -> HttpResponse:
    """Validate a milestone form and apply it through a service; on error show it again."""
    project = editable_project(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, project=project)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            apply(milestone, form.cleaned_data)
        except services.VersionConflict as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(f"{project_url(pk)}#milestones")
    return render_project_page(request, project, milestone_form=(milestone.pk, kind, form))


@login_required
@require_POST
def milestone_complete(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    return _milestone_action(
        request,
        pk,
        milestone_pk,
        "complete",
        MilestoneCompleteForm,
        lambda milestone, data: services.milestone_complete(
            milestone=milestone,
            done_date=data["done_date"],
            actor=request.user,
            expected_version=data["version"],
        ),
        _("The milestone is marked as done."),
    )


@login_required
@require_POST
def milestone_revise(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    return _milestone_action(
        request,
        pk,
        milestone_pk,
        "revise",
        MilestoneReviseForm,
        lambda milestone, data: services.milestone_revise(
            milestone=milestone,
            new_due_date=data["new_due_date"],
            reason=data["reason"],
            actor=request.user,
            expected_version=data["version"],
        ),
        _("The due date has been revised."),
    )


def project_url(pk: int) -> str:
    from django.urls import reverse

    return reverse("project_detail", args=[pk])
