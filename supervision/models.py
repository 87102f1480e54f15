"""Rankings (排名): schemes, their metrics and exemptions, and the snapshots they produce.

A scheme ranks the children of one unit on a cadence; a snapshot per (scheme, period) holds each
child's metric values, score, rank and movement. Snapshots are computed by
``supervision.rankings`` (set-based queries) and published by a supervisor; a published snapshot
never changes again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from projects.models import Unit, UnitKind
from tracker import periods

RANKED_KINDS = [
    (value, label) for value, label in UnitKind.choices if value not in (UnitKind.VILLAGE,)
]


class RankingScheme(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent_unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit whose children are ranked"),
        on_delete=models.PROTECT,
        related_name="ranking_schemes",
    )
    child_kinds = models.JSONField(
        _("kinds of children ranked"),
        default=list,
        help_text=_("Unit kinds, e.g. department, township."),
    )
    cadence = models.CharField(_("cadence"), max_length=12, choices=periods.PERIOD_KIND_CHOICES)
    top_count = models.PositiveSmallIntegerField(_("marked at the top"), default=3)
    bottom_count = models.PositiveSmallIntegerField(_("marked at the bottom"), default=3)
    co_unit_weight = models.DecimalField(
        _("weight of cooperating units"),
        max_digits=3,
        decimal_places=2,
        default=0,
        help_text=_(
            "0: a unit counts only the projects it leads; 0.5: also half of those it cooperates on."
        ),
    )
    starts_on = models.DateField(
        _("first day ranked"), help_text=_("Periods before this day are never computed.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ranking scheme")
        verbose_name_plural = _("ranking schemes")
        ordering = ["sort_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(co_unit_weight__gte=0) & Q(co_unit_weight__lte=1),
                name="scheme_co_unit_weight_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        valid = {value for value, _label in RANKED_KINDS}
        kinds = self.child_kinds
        if not isinstance(kinds, list) or not kinds or not set(kinds) <= valid:
            raise ValidationError({"child_kinds": _("Choose at least one kind of unit to rank.")})

    @property
    def period_kind(self) -> periods.PeriodKind:
        return periods.PeriodKind(self.cadence)


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")


class SchemeMetric(models.Model):
    scheme = models.ForeignKey(
        RankingScheme, verbose_name=_("scheme"), on_delete=models.CASCADE, related_name="metrics"
    )
    metric = models.CharField(_("metric"), max_length=40)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1)
    direction = models.CharField(
        _("direction"),
        max_length=6,
        choices=Direction.choices,
        blank=True,
        help_text=_("Blank: the metric's own direction."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scheme metric")
        verbose_name_plural = _("scheme metrics")
        ordering = ["scheme", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "metric"], name="scheme_metric_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="scheme_metric_weight_positive"),
        ]

    def __str__(self) -> str:
        from supervision.metrics import REGISTRY

        metric = REGISTRY.get(self.metric)
        return str(metric.label) if metric else self.metric

    def clean(self) -> None:
        from supervision.metrics import REGISTRY

        if self.metric not in REGISTRY:
            raise ValidationError({"metric": _("Unknown metric.")})

    @property
    def higher_is_better(self) -> bool:
        from supervision.metrics import REGISTRY

        if self.direction:
            return self.direction == Direction.HIGHER
        return REGISTRY[self.metric].higher_is_better


class RankingExemption(models.Model):
    """A unit left out of one period's ranking, with the reason (e.g. 不可抗力)."""

    scheme = models.ForeignKey(
        RankingScheme,
        verbose_name=_("scheme"),
        on_delete=models.CASCADE,
        related_name="exemptions",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    period_key = models.CharField(_("period"), max_length=12)
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ranking exemption")
        verbose_name_plural = _("ranking exemptions")
        ordering = ["scheme", "period_key", "unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "unit", "period_key"], name="exemption_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.period_key}"

    def clean(self) -> None:
        try:
            period = periods.parse(self.period_key)
        except ValueError as exc:
            raise ValidationError({"period_key": str(exc)}) from None
        if self.scheme_id and period.kind != self.scheme.cadence:
            raise ValidationError(
                {"period_key": _("The period does not match the scheme's cadence.")}
            )


class SnapshotStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")


class RankingSnapshot(models.Model):
    scheme = models.ForeignKey(
        RankingScheme,
        verbose_name=_("scheme"),
        on_delete=models.PROTECT,
        related_name="snapshots",
    )
    period_key = models.CharField(_("period"), max_length=12)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.DRAFT
    )
    is_provisional = models.BooleanField(
        _("provisional"),
        default=False,
        help_text=_("Computed while the period was still open."),
    )
    # Metric keys with their labels and weights as they were when computed.
    metrics = models.JSONField(_("metrics"), default=list)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, editable=False)
    computed_at = models.DateTimeField(_("computed at"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ranking")
        verbose_name_plural = _("rankings")
        ordering = ["scheme", "-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "period_key"], name="snapshot_unique_period"),
            models.CheckConstraint(
                condition=Q(status=SnapshotStatus.DRAFT)
                | Q(published_at__isnull=False, is_provisional=False),
                name="snapshot_published_is_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} · {self.period_label}"

    @property
    def period(self) -> periods.Period:
        return periods.parse(self.period_key)

    @property
    def period_label(self) -> str:
        return self.period.label

    @property
    def is_published(self) -> bool:
        return self.status == SnapshotStatus.PUBLISHED


class RankingEntry(models.Model):
    snapshot = models.ForeignKey(
        RankingSnapshot, verbose_name=_("ranking"), on_delete=models.CASCADE, related_name="entries"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="ranking_entries"
    )
    # {metric key: value as a decimal string, or null when the unit has nothing to measure}
    values = models.JSONField(_("metric values"), default=dict)
    # {metric key: 0–100 score as a decimal string, or null}
    scores = models.JSONField(_("metric scores"), default=dict)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    previous_rank = models.PositiveIntegerField(_("previous rank"), null=True, blank=True)
    movement = models.IntegerField(
        _("movement"), null=True, blank=True, help_text=_("Places gained since the last period.")
    )
    is_top = models.BooleanField(_("top"), default=False)
    is_bottom = models.BooleanField(_("bottom"), default=False)
    exempt_reason = models.CharField(_("exempt because"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("ranking entry")
        verbose_name_plural = _("ranking entries")
        ordering = ["snapshot", models.F("rank").asc(nulls_last=True), "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "unit"], name="entry_unique_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot} · {self.unit} · {self.rank}"


# ---------------------------------------------------------------------------------------------
# Alerts (预警) and the traffic light
# ---------------------------------------------------------------------------------------------


class AlertRule(models.Model):
    """One alert rule's thresholds (admin-editable); the logic is in ``supervision.alerts``."""

    key = models.CharField(_("rule"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    yellow_at = models.DecimalField(_("yellow from"), max_digits=8, decimal_places=2)
    red_at = models.DecimalField(_("red from"), max_digits=8, decimal_places=2)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(red_at__gte=models.F("yellow_at")), name="alert_rule_red_after_yellow"
            ),
        ]

    def __str__(self) -> str:
        from supervision.alerts import RULES

        rule = RULES.get(self.key)
        return str(rule.label) if rule else self.key

    def clean(self) -> None:
        from supervision.alerts import RULES

        if self.key not in RULES:
            raise ValidationError({"key": _("Unknown rule.")})
        if self.yellow_at is not None and self.red_at is not None and self.red_at < self.yellow_at:
            raise ValidationError({"red_at": _("Red must not start before yellow.")})


class AlertLevel(models.TextChoices):
    YELLOW = "yellow", pgettext_lazy("light", "yellow")
    RED = "red", pgettext_lazy("light", "red")


class Alert(models.Model):
    """One alert per (rule, subject, period): opened when the condition appears, its level and
    value kept current by the daily scan, resolved (with the time) when the condition clears."""

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts"
    )
    # "milestone:12", "project:5", "target:3": what the alert is about.
    subject = models.CharField(_("subject"), max_length=40)
    period_key = models.CharField(_("period"), max_length=12, blank=True)
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="alerts"
    )
    level = models.CharField(_("level"), max_length=6, choices=AlertLevel.choices)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject", "period_key"], name="alert_one_per_subject_period"
            ),
        ]
        indexes = [models.Index(fields=["resolved_at", "level"])]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None
