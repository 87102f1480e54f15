"""Django admin: how an administrator sets up a county (units, people, projects, targets).

Project saves go through the services so the stage log, red-card rules and audit trail stay
complete; due dates of existing milestones are changed in the workspace, where a reason is asked.
Milestones, reports, funding, applications and targets saved here go through the write core
(``WrittenThroughTheCore``): a new version each, so no stale page or API client overwrites them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from projects import services, tokens
from projects.models import (
    ApiToken,
    FundingApplication,
    Leader,
    Membership,
    Milestone,
    MilestoneRevision,
    MilestoneTemplate,
    ProgressReport,
    Project,
    ProjectFunding,
    ProjectYearPlan,
    ReportPhoto,
    StageChange,
    Tag,
    Target,
    Unit,
)
from tracker import writes


class WrittenThroughTheCore:
    """Admin saves of records edited by several people (versioned) go through the write core
    (``tracker.writes.save``): validated, with the administrator as their author, and with the
    record's next version, so that a page or an API client still holding the previous version is
    refused instead of overwriting the administrator's change. Inline rows too."""

    def save_model(self, request, obj, form, change: bool) -> None:
        writes.save(obj, request.user)

    def save_formset(self, request, form, formset, change: bool) -> None:
        instances = formset.save(commit=False)
        for removed in formset.deleted_objects:
            removed.delete()
        for instance in instances:
            writes.save(instance, request.user)
        formset.save_m2m()


admin.site.site_header = _("Key Project Scheduling and Supervision Platform")
admin.site.site_title = _("Platform administration")
admin.site.index_title = _("County set-up")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["unit"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    """The stock user admin, with the user's units and roles on the same page."""

    inlines = [UserMembershipInline]


@admin.register(Unit)
class UnitAdmin(SimpleHistoryAdmin):
    list_display = ["indented_name", "kind", "code", "sort_order", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "code"]
    autocomplete_fields = ["parent"]
    inlines = [MembershipInline]

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj: Unit) -> str:
        return "　" * obj.depth + obj.name


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "unit", "role", "created_at"]
    list_filter = ["role", "unit__kind"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "unit__name"]
    autocomplete_fields = ["user", "unit"]


@admin.register(Leader)
class LeaderAdmin(SimpleHistoryAdmin):
    list_display = ["name", "title", "unit", "user", "sort_order", "is_active"]
    list_select_related = ["unit", "user"]
    list_filter = ["is_active"]
    search_fields = ["name", "title"]
    autocomplete_fields = ["unit", "user"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class YearPlanInline(admin.TabularInline):
    model = ProjectYearPlan
    extra = 0


class FundingInline(admin.TabularInline):
    model = ProjectFunding
    extra = 0


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ["kind", "name", "due_date", "original_due_date", "done_date"]
    readonly_fields = ["original_due_date"]

    def get_readonly_fields(self, request, obj=None):
        # New milestones get a due date here; later changes need a reason (workspace).
        return ["original_due_date", "due_date", "done_date"] if obj else self.readonly_fields


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    can_delete = False
    fields = ["from_stage", "to_stage", "changed_on", "actor", "note", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = [
        "name",
        "lead_unit",
        "category",
        "level",
        "stage",
        "total_investment",
        "red_card",
    ]
    list_filter = ["kind", "level", "category", "stage", "source", "is_private", "red_card"]
    search_fields = ["name", "code", "owner"]
    autocomplete_fields = [
        "lead_unit",
        "township",
        "cooperating_units",
        "lead_leader",
        "co_leaders",
        "parent",
        "tags",
    ]
    list_select_related = ["lead_unit"]
    readonly_fields = ["stage_changed_on", "version", "created_at", "updated_at", "created_by"]
    inlines = [YearPlanInline, MilestoneInline, FundingInline, StageChangeInline]

    def save_model(self, request, obj: Project, form, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in services.PROJECT_EDITABLE_FIELDS
            if name in data and name not in {"lead_unit", "name", "category"}
        }
        if not change:
            project = services.project_create(
                actor=request.user,
                lead_unit=data["lead_unit"],
                name=data["name"],
                category=data["category"],
                stage=data["stage"],
                **fields,
            )
        else:
            changed = {
                name: data[name]
                for name in form.changed_data
                if name in services.PROJECT_EDITABLE_FIELDS
            }
            project = services.project_update(project=obj, actor=request.user, **changed)
            if "stage" in form.changed_data:
                services.project_change_stage(
                    project=project,
                    to_stage=data["stage"],
                    changed_on=timezone.localdate(),
                    actor=request.user,
                    note=str(_("Changed in the admin")),
                )
            if {"red_card", "red_card_reason"} & set(form.changed_data):
                services.project_set_red_card(
                    project=project,
                    actor=request.user,
                    red_card=data["red_card"],
                    reason=data.get("red_card_reason", ""),
                )
        obj.pk = project.pk
        obj.version = Project.objects.values_list("version", flat=True).get(pk=project.pk)


@admin.register(Milestone)
class MilestoneAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = ["name", "project", "kind", "due_date", "done_date"]
    list_filter = ["kind"]
    search_fields = ["name", "project__name"]
    autocomplete_fields = ["project"]
    list_select_related = ["project"]

    def get_readonly_fields(self, request, obj=None):
        return ["due_date", "original_due_date", "version"] if obj else ["version"]


@admin.register(MilestoneRevision)
class MilestoneRevisionAdmin(admin.ModelAdmin):
    list_display = ["milestone", "previous_due_date", "new_due_date", "reason", "actor"]
    search_fields = ["milestone__name", "milestone__project__name"]
    list_select_related = ["milestone__project", "actor"]

    # Revisions are written by milestone_revise, which also moves the due date.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReportPhotoInline(admin.TabularInline):
    model = ReportPhoto
    extra = 0
    readonly_fields = ["taken_at", "latitude", "longitude", "uploaded_by", "uploaded_at"]


@admin.register(ProgressReport)
class ProgressReportAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = ["project", "period_key", "status", "investment", "deadline", "submitted_at"]
    list_filter = ["status", "period_kind", "period_key"]
    search_fields = ["project__name"]
    list_select_related = ["project"]
    autocomplete_fields = ["project"]
    readonly_fields = [
        "submitted_at",
        "submitted_by",
        "reviewed_at",
        "reviewed_by",
        "version",
        "created_by",
    ]
    inlines = [ReportPhotoInline]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["project", "from_stage", "to_stage", "changed_on", "actor"]
    list_filter = ["to_stage"]
    search_fields = ["project__name"]
    list_select_related = ["project", "actor"]

    # The log is written by project_change_stage, which also moves the project.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProjectFunding)
class ProjectFundingAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = ["project", "source", "planned", "arrived"]
    list_filter = ["source"]
    search_fields = ["project__name"]
    autocomplete_fields = ["project"]
    list_select_related = ["project"]


@admin.register(FundingApplication)
class FundingApplicationAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = [
        "title",
        "unit",
        "year",
        "channel",
        "requested",
        "approved",
        "arrived",
        "status",
    ]
    list_filter = ["year", "channel", "status"]
    search_fields = ["title", "unit__name"]
    autocomplete_fields = ["unit", "project"]
    list_select_related = ["unit"]


@admin.register(Target)
class TargetAdmin(WrittenThroughTheCore, SimpleHistoryAdmin):
    list_display = ["unit", "year", "metric", "target_value", "actual_value"]
    list_filter = ["year", "metric"]
    search_fields = ["unit__name"]
    autocomplete_fields = ["unit"]
    list_select_related = ["unit"]


@admin.register(MilestoneTemplate)
class MilestoneTemplateAdmin(admin.ModelAdmin):
    list_display = ["category", "name", "kind", "days_before_target"]
    list_filter = ["category"]
    search_fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created through ``token_create``: the secret is shown once, in a message."""

    list_display = [
        "name",
        "user",
        "display_prefix",
        "write",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["write", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "write", "expires_at"]
        return [
            "user",
            "name",
            "display_prefix",
            "write",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        # A token's owner, scope and expiry are fixed: make a new one rather than widen it.
        if obj is None:
            return []
        return [f for f in self.get_fields(request, obj) if f != "name"]

    @admin.display(description=_("token"))
    def display_prefix(self, obj: ApiToken) -> str:
        return f"trk_{obj.prefix}…"

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        token, secret = tokens.token_create(
            user=data["user"],
            name=data["name"],
            write=data["write"],
            expires_at=data.get("expires_at"),
            actor=request.user,
        )
        obj.pk = token.pk
        obj.prefix = token.prefix
        obj.token_hash = token.token_hash
        obj.created_at = token.created_at
        obj._state.adding = False
        messages.warning(
            request,
            _("Copy the new API token now, it will not be shown again: %(secret)s")
            % {"secret": secret},
        )

    @admin.action(description=_("Revoke the selected API tokens"))
    def revoke(self, request, queryset) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            tokens.token_revoke(token=token, actor=request.user)
            count += 1
        messages.success(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", count)
            % {"count": count},
        )
