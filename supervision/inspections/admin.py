"""Inspections, meetings and project notices in the admin.

Saves go through ``supervision.inspections.services`` like the pages', so versions, history and the
project's red card stay right. Scores, photos and the issues raised are shown read-only here:
they are set on the inspection's or meeting's page, where each batch is checked as a whole.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from projects.models import Leader
from supervision.inspections import services
from supervision.models import (
    Inspection,
    InspectionPhoto,
    InspectionScore,
    Issue,
    Meeting,
    NoticeKind,
    NoticeStatus,
    ProjectNotice,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ScoreInline(_ReadOnlyInline):
    model = InspectionScore
    fields = ["project", "score", "comment"]
    readonly_fields = fields


class PhotoInline(_ReadOnlyInline):
    model = InspectionPhoto
    fields = ["preview", "project", "caption", "taken_at", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    @admin.display(description=_("thumbnail"))
    def preview(self, obj: InspectionPhoto) -> str:
        from django.urls import reverse

        return format_html(
            '<a href="{}"><img src="{}" alt="" height="80"></a>',
            reverse("inspection_photo", args=[obj.pk, "full"]),
            reverse("inspection_photo", args=[obj.pk, "thumb"]),
        )


class RaisedIssueInline(_ReadOnlyInline):
    model = Issue
    fields = ["title", "unit", "deadline", "status"]
    readonly_fields = fields
    show_change_link = True


class InspectionIssueInline(RaisedIssueInline):
    fk_name = "inspection"
    verbose_name_plural = _("issues raised")


class MeetingIssueInline(RaisedIssueInline):
    fk_name = "meeting"
    verbose_name_plural = _("decisions assigned")


def _not_future(form: forms.ModelForm) -> None:
    held_on = form.cleaned_data.get("held_on")
    if held_on is not None and held_on > timezone.localdate():
        form.add_error("held_on", _("The date cannot be in the future."))


class InspectionAdminForm(forms.ModelForm):
    class Meta:
        model = Inspection
        fields = [
            "title",
            "kind",
            "held_on",
            "unit",
            "inspectors",
            "projects",
            "units_visited",
            "findings",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _not_future(self)
        if self.instance.pk and "projects" in data:
            kept = {p.pk for p in data["projects"]}
            scored = self.instance.scores.exclude(project__in=kept).select_related("project")
            for score in scored[:1]:
                self.add_error(
                    "projects",
                    _("“%(project)s” has a score in this inspection: remove its score first.")
                    % {"project": score.project.name},
                )
        return data


class _ServiceAdmin(SimpleHistoryAdmin):
    """Creates and changes through the services; the M2M fields are the services' too."""

    service_fields: frozenset[str] = frozenset()

    def _fields(self, form, change: bool) -> dict[str, Any]:
        names = form.changed_data if change else form.cleaned_data.keys()
        return {n: form.cleaned_data[n] for n in names if n in self.service_fields}

    def save_related(self, request, form, formsets, change) -> None:
        # The M2M fields were saved by the service (no form.save_m2m()); the inlines are
        # read-only and save nothing, but the change message reads what they saved.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(Inspection)
class InspectionAdmin(_ServiceAdmin):
    form = InspectionAdminForm
    service_fields = services.INSPECTION_FIELDS | services.INSPECTION_M2M_FIELDS
    list_display = ["title", "kind", "held_on", "unit", "version"]
    list_filter = ["kind"]
    date_hierarchy = "held_on"
    search_fields = ["title", "inspectors", "findings"]
    list_select_related = ["unit"]
    autocomplete_fields = ["unit", "projects", "units_visited"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at"]
    inlines = [ScoreInline, PhotoInline, InspectionIssueInline]

    def save_model(self, request, obj: Inspection, form, change: bool) -> None:
        fields = self._fields(form, change)
        if change:
            saved = services.inspection_update(inspection=obj, actor=request.user, **fields)
        else:
            saved = services.inspection_create(actor=request.user, **fields)
        obj.pk, obj.version = saved.pk, saved.version


class MeetingAdminForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = [
            "title",
            "kind",
            "held_on",
            "unit",
            "host",
            "location",
            "attendees",
            "absentees",
            "attendee_names",
            "projects",
            "minutes",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "host" in self.fields:
            self.fields["host"].queryset = Leader.objects.filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _not_future(self)
        both = set(data.get("attendees") or []) & set(data.get("absentees") or [])
        if both:
            self.add_error(
                "absentees",
                _("A unit cannot both attend and be absent: %(units)s.")
                % {"units": "、".join(u.name for u in both)},
            )
        return data


@admin.register(Meeting)
class MeetingAdmin(_ServiceAdmin):
    form = MeetingAdminForm
    service_fields = services.MEETING_FIELDS | services.MEETING_M2M_FIELDS
    list_display = ["title", "kind", "held_on", "unit", "host", "version"]
    list_filter = ["kind"]
    date_hierarchy = "held_on"
    search_fields = ["title", "minutes", "location"]
    list_select_related = ["unit", "host"]
    autocomplete_fields = ["unit", "host", "attendees", "absentees", "projects"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at"]
    inlines = [MeetingIssueInline]

    def save_model(self, request, obj: Meeting, form, change: bool) -> None:
        fields = self._fields(form, change)
        if change:
            saved = services.meeting_update(meeting=obj, actor=request.user, **fields)
        else:
            saved = services.meeting_create(actor=request.user, **fields)
        obj.pk, obj.version = saved.pk, saved.version


class NoticeIssueAdminForm(forms.ModelForm):
    class Meta:
        model = ProjectNotice
        fields = ["project", "kind", "requirement", "deadline", "consequence"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        deadline = data.get("deadline")
        if data.get("kind") == NoticeKind.DEADLINE:
            if deadline is None:
                self.add_error("deadline", _("A deadline notice needs a deadline."))
            if not (data.get("consequence") or "").strip():
                self.add_error("consequence", _("Say what happens if the deadline is missed."))
        if deadline is not None and deadline < timezone.localdate():
            self.add_error("deadline", _("The deadline cannot be in the past."))
        return data


class NoticeSettleAdminForm(forms.ModelForm):
    status = forms.ChoiceField(label=_("settled as"), choices=NoticeStatus.choices)

    class Meta:
        model = ProjectNotice
        fields = ["status", "outcome"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("status") != NoticeStatus.ACTIVE and not (data.get("outcome") or "").strip():
            self.add_error("outcome", _("Write the follow-up: what was done or decided."))
        return data


@admin.register(ProjectNotice)
class ProjectNoticeAdmin(SimpleHistoryAdmin):
    list_display = ["project", "kind", "status", "issued_on", "deadline", "overdue"]
    list_filter = ["kind", "status"]
    date_hierarchy = "issued_on"
    search_fields = ["project__name", "requirement", "outcome"]
    list_select_related = ["project"]
    autocomplete_fields = ["project"]

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj: ProjectNotice) -> bool:
        return obj.is_overdue(timezone.localdate())

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = NoticeSettleAdminForm if obj is not None else NoticeIssueAdminForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["project", "kind", "requirement", "deadline", "consequence"]
        return [
            "project",
            "kind",
            "requirement",
            "deadline",
            "consequence",
            "issued_on",
            "issued_by",
            "status",
            "outcome",
            "settled_at",
            "settled_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "project",
            "kind",
            "requirement",
            "deadline",
            "consequence",
            "issued_on",
            "issued_by",
            "settled_at",
            "settled_by",
        ]

    def has_change_permission(self, request, obj=None) -> bool:
        # Changing a notice is settling it, once.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status == NoticeStatus.ACTIVE)

    def save_model(self, request, obj: ProjectNotice, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            saved = services.notice_issue(
                actor=request.user,
                project=data["project"],
                kind=data["kind"],
                requirement=data["requirement"],
                deadline=data.get("deadline"),
                consequence=data.get("consequence", ""),
            )
            obj.pk = saved.pk
        elif data.get("status", NoticeStatus.ACTIVE) != NoticeStatus.ACTIVE:
            services.notice_settle(
                notice=obj, actor=request.user, status=data["status"], outcome=data["outcome"]
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        # A notice is settled (withdrawn, if need be), never deleted: the project's red card
        # follows its notices.
        return False
