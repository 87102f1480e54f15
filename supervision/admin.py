"""Admin: ranking schemes with their metrics and exemptions; snapshots are read-only here
(they are computed by the job and published on /rankings/)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from supervision.alerts import RULES
from supervision.catalogue import METRIC_CHOICES
from supervision.models import (
    RANKED_KINDS,
    Alert,
    AlertRule,
    DeliveryStatus,
    NotificationPreference,
    RankingEntry,
    RankingExemption,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
    Webhook,
    WebhookDelivery,
)
from supervision.notifications import EVENTS, deliveries_retry, webhook_send_test


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


# --- notifications: webhooks, their delivery log, people's preferences --------------------------


def _event_choices():

    return [(key, label) for key, label in EVENTS.items()]


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("address"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=_event_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = Webhook
        fields = ["name", "unit", "kind", "url", "secret", "events", "is_active"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}


RECENT_DELIVERIES = 10


@admin.register(Webhook)
class WebhookAdmin(SimpleHistoryAdmin):
    form = WebhookForm
    list_display = ["name", "unit", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "unit__name"]
    autocomplete_fields = ["unit"]
    readonly_fields = ["recent_deliveries"]
    actions = ["send_test_message"]

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, obj: Webhook) -> str:
        if obj.pk is None:
            return "—"
        rows = obj.deliveries.order_by("-created_at", "-id")[:RECENT_DELIVERIES]
        table = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    reverse("admin:supervision_webhookdelivery_change", args=[d.pk]),
                    localtime(d.created_at).strftime("%Y-%m-%d %H:%M"),
                    d.event,
                    d.get_status_display(),
                    d.attempts,
                    d.response_status or "—",
                    d.last_error or "",
                )
                for d in rows
            ),
        )
        changelist = reverse("admin:supervision_webhookdelivery_changelist")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>"
            "<p><a href='{}?webhook__id__exact={}'>{}</a></p>",
            _("created at"),
            _("event"),
            _("status"),
            _("attempts"),
            _("response status"),
            _("last error"),
            table,
            changelist,
            obj.pk,
            _("All deliveries of this webhook"),
        )

    @admin.action(description=_("Send a test message"))
    def send_test_message(self, request, queryset) -> None:

        for webhook in queryset:
            delivery = webhook_send_test(webhook, actor=request.user)
            if delivery.status == DeliveryStatus.DELIVERED:
                self.message_user(
                    request,
                    _("%(webhook)s: the test message was delivered.") % {"webhook": webhook},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("%(webhook)s: the test message failed: %(error)s")
                    % {"webhook": webhook, "error": delivery.last_error},
                    messages.ERROR,
                )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "webhook",
        "event",
        "status",
        "attempts",
        "response_status",
        "delivered_at",
    ]
    list_filter = ["status", "event", "webhook"]
    list_select_related = ["webhook"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send again"))
    def retry(self, request, queryset) -> None:

        queued = deliveries_retry(queryset)
        self.message_user(
            request,
            _("%(count)s deliveries queued again (delivered ones are never sent twice).")
            % {"count": queued},
            messages.SUCCESS,
        )


class NotificationPreferenceForm(forms.ModelForm):
    muted_events = forms.MultipleChoiceField(
        label=_("muted events"),
        choices=_event_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = NotificationPreference
        fields = ["user", "email", "muted_events"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    form = NotificationPreferenceForm
    list_display = ["user", "email", "updated_at"]
    list_filter = ["email"]
    search_fields = ["user__username", "user__first_name", "user__email"]
    autocomplete_fields = ["user"]


# The ledger's read-only admin, and inspections, meetings and notices: registered on import.
from supervision.inspections import admin as inspection_admin  # noqa: E402, F401
from supervision.issues import admin as issue_admin  # noqa: E402, F401
