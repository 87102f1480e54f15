"""Admin: ranking schemes with their metrics and exemptions; snapshots are read-only here
(they are computed by the job and published on /rankings/)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from supervision.alerts import RULES
from supervision.metrics import METRIC_CHOICES
from supervision.models import (
    RANKED_KINDS,
    Alert,
    AlertRule,
    RankingEntry,
    RankingExemption,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
)


class SchemeForm(forms.ModelForm):
    child_kinds = forms.MultipleChoiceField(
        label=_("kinds of children ranked"),
        choices=RANKED_KINDS,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = RankingScheme
        fields = [
            "name",
            "parent_unit",
            "child_kinds",
            "cadence",
            "top_count",
            "bottom_count",
            "co_unit_weight",
            "starts_on",
            "is_active",
            "sort_order",
        ]


class MetricForm(forms.ModelForm):
    metric = forms.ChoiceField(label=_("metric"), choices=METRIC_CHOICES)

    class Meta:
        model = SchemeMetric
        fields = ["metric", "weight", "direction", "sort_order"]


class MetricInline(admin.TabularInline):
    model = SchemeMetric
    form = MetricForm
    extra = 0


class ExemptionInline(admin.TabularInline):
    model = RankingExemption
    extra = 0
    autocomplete_fields = ["unit"]
    exclude = ["created_by"]


@admin.register(RankingScheme)
class RankingSchemeAdmin(SimpleHistoryAdmin):
    form = SchemeForm
    list_display = ["name", "parent_unit", "cadence", "top_count", "bottom_count", "is_active"]
    list_filter = ["cadence", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["parent_unit"]
    inlines = [MetricInline, ExemptionInline]

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            if isinstance(obj, RankingExemption) and obj.created_by_id is None:
                obj.created_by = request.user
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class EntryInline(admin.TabularInline):
    model = RankingEntry
    extra = 0
    can_delete = False
    fields = ["rank", "unit", "score", "movement", "is_top", "is_bottom", "exempt_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RankingSnapshot)
class RankingSnapshotAdmin(admin.ModelAdmin):
    list_display = ["scheme", "period_key", "status", "is_provisional", "computed_at"]
    list_filter = ["scheme", "status"]
    inlines = [EntryInline]
    readonly_fields = [f.name for f in RankingSnapshot._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AlertRuleForm(forms.ModelForm):
    key = forms.ChoiceField(label=_("rule"), choices=[(k, r.label) for k, r in RULES.items()])

    class Meta:
        model = AlertRule
        fields = ["key", "is_active", "yellow_at", "red_at"]


@admin.register(AlertRule)
class AlertRuleAdmin(SimpleHistoryAdmin):
    form = AlertRuleForm
    list_display = ["__str__", "yellow_at", "red_at", "is_active"]
    list_editable = ["yellow_at", "red_at", "is_active"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "rule",
        "subject",
        "project",
        "unit",
        "level",
        "value",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["rule", "level"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
