"""Rankings (排名): schemes, their metrics and exemptions, and the snapshots they produce.

A scheme ranks the children of one unit on a cadence; a snapshot per (scheme, period) holds each
child's metric values, score, rank and movement. Snapshots are computed by
``supervision.rankings`` (set-based queries) and published by a supervisor; a published snapshot
never changes again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from projects.models import Unit, UnitKind
from supervision.catalogue import METRIC_SPECS, RULE_SPECS
from tracker import periods, validation
from tracker.dates import validate_plausible_date

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
        _("first day ranked"),
        validators=[validate_plausible_date],
        help_text=_("Periods before this day are never computed."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("ranking scheme")
        verbose_name_plural = _("ranking schemes")
        ordering = ["sort_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(co_unit_weight__gte=0) & Q(co_unit_weight__lte=1),
                name="scheme_co_unit_weight_range",
                violation_error_message=_(
                    "The weight of cooperating units must be between 0 and 1."
                ),
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

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("scheme metric")
        verbose_name_plural = _("scheme metrics")
        ordering = ["scheme", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "metric"],
                name="scheme_metric_unique",
                violation_error_message=_("The scheme already has this metric."),
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0),
                name="scheme_metric_weight_positive",
                violation_error_message=_("A metric's weight must be greater than zero."),
            ),
        ]

    def __str__(self) -> str:
        metric = METRIC_SPECS.get(self.metric)
        return str(metric.label) if metric else self.metric

    def clean(self) -> None:
        if self.metric not in METRIC_SPECS:
            raise ValidationError({"metric": _("Unknown metric.")})

    @property
    def higher_is_better(self) -> bool:
        if self.direction:
            return self.direction == Direction.HIGHER
        return METRIC_SPECS[self.metric].higher_is_better


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
                fields=["scheme", "unit", "period_key"],
                name="exemption_unique",
                violation_error_message=_(
                    "The unit is already exempted from this scheme for this period."
                ),
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


COMMENTARY_MAX_LENGTH = 5000


class RankingSnapshot(models.Model):
    scheme = models.ForeignKey(
        RankingScheme,
        verbose_name=_("scheme"),
        on_delete=models.PROTECT,
        related_name="snapshots",
    )
    period_key = models.CharField(_("period"), max_length=12)
    period_start = models.DateField(_("period start"), validators=[validate_plausible_date])
    period_end = models.DateField(_("period end"), validators=[validate_plausible_date])
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
    # The supervisor's 点评 printed in the bulletin (通报); frozen with the ranking on publishing.
    commentary = models.TextField(
        _("commentary"),
        blank=True,
        max_length=COMMENTARY_MAX_LENGTH,
        help_text=_("The supervisor's remarks printed in the bulletin."),
    )
    # What the bulletin says beyond the entries (its number, red-light projects, overdue and
    # escalated issues), frozen on publishing so the issued document never changes
    # (supervision.bulletins); empty for a draft.
    bulletin = models.JSONField(_("bulletin"), default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("ranking")
        verbose_name_plural = _("rankings")
        ordering = ["scheme", "-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "period_key"],
                name="snapshot_unique_period",
                violation_error_message=_("The scheme already has a ranking for this period."),
            ),
            models.CheckConstraint(
                condition=Q(status=SnapshotStatus.DRAFT)
                | Q(published_at__isnull=False, is_provisional=False),
                name="snapshot_published_is_final",
                violation_error_message=_(
                    "A published ranking must be final and have a publication time."
                ),
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
            models.UniqueConstraint(
                fields=["snapshot", "unit"],
                name="entry_unique_unit",
                violation_error_message=_("The unit is already ranked in this ranking."),
            ),
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

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(red_at__gte=models.F("yellow_at")),
                name="alert_rule_red_after_yellow",
                violation_error_message=_(
                    "The red threshold cannot be below the yellow threshold."
                ),
            ),
        ]

    def __str__(self) -> str:
        rule = RULE_SPECS.get(self.key)
        return str(rule.label) if rule else self.key

    def clean(self) -> None:
        if self.key not in RULE_SPECS:
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
                fields=["rule", "subject", "period_key"],
                name="alert_one_per_subject_period",
                violation_error_message=_(
                    "This alert was already raised for this subject and period."
                ),
            ),
        ]
        indexes = [models.Index(fields=["resolved_at", "level"])]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None


# ---------------------------------------------------------------------------------------------
# The supervision ledger (督查台账): inspections, meetings, issues and their timeline
# ---------------------------------------------------------------------------------------------


def _photo_path(instance: models.Model, filename: str) -> str:
    return f"supervision/{instance._meta.model_name}/{filename}"


class InspectionKind(models.TextChoices):
    REGULAR = "regular", _("regular inspection")
    SPECIAL = "special", _("special inspection")
    UNANNOUNCED = "unannounced", _("unannounced visit")
    SITE_VISIT = "site_visit", _("on-site observation and appraisal")


class Inspection(models.Model):
    """A supervision report (督查报告): who went where, what they found, optional scores."""

    title = models.CharField(pgettext_lazy("document", "title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=InspectionKind.choices)
    held_on = models.DateField(_("date"), validators=[validate_plausible_date])
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("organising unit"),
        on_delete=models.PROTECT,
        related_name="inspections",
        help_text=_("The unit whose supervision office ran the inspection."),
    )
    inspectors = models.CharField(_("inspectors"), max_length=300)
    projects = models.ManyToManyField(
        "projects.Project",
        verbose_name=_("projects visited"),
        blank=True,
        related_name="inspections",
    )
    units_visited = models.ManyToManyField(
        Unit, verbose_name=_("units visited"), blank=True, related_name="inspections_received"
    )
    findings = models.TextField(_("findings"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[projects, units_visited])

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.title


class InspectionScore(models.Model):
    """观摩评比: one project's score (0–100) in an inspection."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="scores"
    )
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        on_delete=models.CASCADE,
        related_name="inspection_scores",
    )
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    comment = models.CharField(_("comment"), max_length=300, blank=True)

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("inspection score")
        verbose_name_plural = _("inspection scores")
        ordering = ["inspection", "-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "project"],
                name="inspection_score_unique",
                violation_error_message=_("The project already has a score in this inspection."),
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100),
                name="inspection_score_range",
                violation_error_message=_("A score must be between 0 and 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.score}"


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    image = models.ImageField(_("photo"), upload_to=_photo_path)
    thumbnail = models.ImageField(_("thumbnail"), upload_to=_photo_path, blank=True)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["inspection", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class MeetingKind(models.TextChoices):
    DISPATCH = "dispatch", _("dispatch meeting")
    PROMOTION = "promotion", _("promotion meeting")
    ON_SITE = "on_site", _("on-site office meeting")
    JOINT = "joint", _("joint meeting")
    SPECIAL = "special", _("special deliberation")


class Meeting(models.Model):
    """调度会/推进会/现场办公会/联席会议/专题议定: decisions become issues (交办事项)."""

    title = models.CharField(pgettext_lazy("document", "title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=MeetingKind.choices)
    held_on = models.DateField(_("date"), validators=[validate_plausible_date])
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("convening unit"),
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    host = models.ForeignKey(
        "projects.Leader",
        verbose_name=_("host"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosted_meetings",
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    attendees = models.ManyToManyField(
        Unit, verbose_name=_("units attending"), blank=True, related_name="meetings_attended"
    )
    absentees = models.ManyToManyField(
        Unit, verbose_name=_("units absent"), blank=True, related_name="meetings_missed"
    )
    attendee_names = models.CharField(_("other attendees"), max_length=500, blank=True)
    projects = models.ManyToManyField(
        "projects.Project",
        verbose_name=_("projects on the agenda"),
        blank=True,
        related_name="meetings",
    )
    minutes = models.TextField(_("minutes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[attendees, absentees, projects])

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.title


class IssueSource(models.TextChoices):
    INSPECTION = "inspection", _("inspection")
    REPORT = "report", _("progress report")
    MEETING = "meeting", _("meeting decision")
    UPPER = "upper", _("handed over from above")
    UNIT_REQUEST = "unit_request", _("unit's request for coordination")


class IssueCategory(models.TextChoices):
    LAND_ACQUISITION = "land_acquisition", _("land acquisition")
    DEMOLITION = "demolition", _("demolition")
    RESETTLEMENT = "resettlement", _("resettlement")
    PIPELINES = "pipelines", _("pipeline relocation")
    PLANNING = "planning", _("planning approval")
    LAND_USE = "land_use", _("land use")
    ENVIRONMENT = "environment", _("environmental assessment")
    TENDERING = "tendering", _("tendering")
    FUNDING = "funding", _("funding")
    CONSTRUCTION = "construction", _("construction")
    OTHER = "other", _("other")


class IssueStatus(models.TextChoices):
    PENDING = "pending", _("awaiting acceptance")
    OPEN = "open", _("to be rectified")
    IN_PROGRESS = "in_progress", _("being rectified")
    RESOLVED = "resolved", _("rectified")
    CLOSED = "closed", _("closed")
    DECLINED = "declined", _("declined")


# Statuses in which the issue is still the unit's work (deadline and escalation apply).
ISSUE_ACTIVE_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)
ISSUE_FINISHED_STATUSES = (IssueStatus.CLOSED, IssueStatus.DECLINED)


class EscalationLevel(models.IntegerChoices):
    NORMAL = 0, _("normal")
    URGED = 1, _("urged")
    SUPERVISED = 2, _("supervised")
    LISTED = 3, _("listed for supervision")
    INTERVIEW = 4, _("admonitory talk")
    ACCOUNTABILITY = 5, _("accountability")


class IssueQuerySet(models.QuerySet["Issue"]):
    def active(self) -> IssueQuerySet:
        return self.filter(status__in=ISSUE_ACTIVE_STATUSES)

    def overdue_on(self, day) -> IssueQuerySet:
        return self.active().filter(deadline__lt=day)


class Issue(models.Model):
    """One line of the ledger (问题清单/督办事项)."""

    title = models.CharField(_("problem"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    requirement = models.TextField(
        _("rectification required"), blank=True, help_text=_("What the unit must do.")
    )
    source = models.CharField(_("source"), max_length=14, choices=IssueSource.choices)
    category = models.CharField(_("category"), max_length=20, choices=IssueCategory.choices)
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="issues"
    )
    leader = models.ForeignKey(
        "projects.Leader",
        verbose_name=_("responsible leader"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    requested_by_unit = models.ForeignKey(
        Unit,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues_requested",
        help_text=_("The unit that asked the county to push or coordinate (向上催办)."),
    )
    inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("inspection"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("meeting"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    report = models.ForeignKey(
        "projects.ProgressReport",
        verbose_name=_("progress report"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    deadline = models.DateField(
        _("deadline"), validators=[validate_plausible_date], null=True, blank=True
    )
    original_deadline = models.DateField(
        _("original deadline"), validators=[validate_plausible_date], null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=12, choices=IssueStatus.choices, default=IssueStatus.OPEN
    )
    level = models.PositiveSmallIntegerField(
        _("escalation"), choices=EscalationLevel.choices, default=EscalationLevel.NORMAL
    )
    # A unit asked the supervision office to act (向上催办) and no supervisor has acted since.
    awaiting_office = models.BooleanField(_("awaiting the supervision office"), default=False)
    raised_on = models.DateField(_("raised on"), validators=[validate_plausible_date])
    resolved_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = IssueQuerySet.as_manager()
    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("issue")
        verbose_name_plural = _("issues")
        ordering = ["-raised_on", "-id"]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["updated_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=IssueStatus.CLOSED) | Q(closed_at__isnull=False),
                name="issue_closed_has_time",
                violation_error_message=_("A closed issue needs the time it was closed."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=[IssueStatus.PENDING, IssueStatus.DECLINED])
                | Q(deadline__isnull=False),
                name="issue_accepted_has_deadline",
                violation_error_message=_("An accepted issue needs a deadline."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def number(self) -> str:
        """The ledger number county offices quote (e.g. 2026-0042)."""
        return f"{self.raised_on.year}-{self.pk:04d}"

    def is_overdue(self, on) -> bool:
        return (
            self.status in ISSUE_ACTIVE_STATUSES
            and self.deadline is not None
            and self.deadline < on
        )

    def days_overdue(self, on) -> int:
        return (on - self.deadline).days if self.is_overdue(on) else 0


class IssueEventKind(models.TextChoices):
    RAISED = "raised", _("raised")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    RESPONSE = "response", _("response")
    RECTIFIED = "rectified", _("reported rectified")
    CLOSED = "closed", _("closed")
    SENT_BACK = "sent_back", _("sent back")
    ESCALATED = "escalated", _("escalated")
    URGED = "urged", _("urged")
    URGED_UP = "urged_up", _("asked the county to push")
    INSTRUCTION = "instruction", _("leader's instruction")
    EXTENSION_REQUESTED = "extension_requested", _("extension requested")
    EXTENSION_GRANTED = "extension_granted", _("extension granted")
    EXTENSION_REFUSED = "extension_refused", _("extension refused")


class IssueEvent(models.Model):
    """One entry of an issue's timeline, with who and when (no actor: the daily job)."""

    issue = models.ForeignKey(
        Issue, verbose_name=_("issue"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IssueEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_unit = models.ForeignKey(
        Unit,
        verbose_name=_("on behalf of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("text"), blank=True)
    level = models.PositiveSmallIntegerField(
        _("escalation"), choices=EscalationLevel.choices, null=True, blank=True
    )
    deadline = models.DateField(
        _("deadline"), validators=[validate_plausible_date], null=True, blank=True
    )
    # For urges upward: the unit the county is asked to push.
    target_unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit to push"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("issue event")
        verbose_name_plural = _("issue events")
        ordering = ["issue", "created_at", "id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.issue} · {self.get_kind_display()}"


def _attachment_path(instance: IssueAttachment, filename: str) -> str:
    return f"issues/{instance.event.issue_id}/{filename}"


class IssueAttachment(models.Model):
    """Evidence a unit attaches to a response (photos, scanned documents)."""

    event = models.ForeignKey(
        IssueEvent, verbose_name=_("entry"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=_attachment_path)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["event", "id"]

    def __str__(self) -> str:
        return self.name


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")


class ExtensionRequest(models.Model):
    issue = models.ForeignKey(
        Issue, verbose_name=_("issue"), on_delete=models.CASCADE, related_name="extensions"
    )
    requested_deadline = models.DateField(
        _("new deadline asked for"), validators=[validate_plausible_date]
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=ExtensionStatus.choices,
        default=ExtensionStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["issue", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue"],
                condition=Q(status="pending"),
                name="extension_one_pending_per_issue",
                violation_error_message=_(
                    "The issue already has an extension request awaiting a decision."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue} → {self.requested_deadline}"


class NoticeKind(models.TextChoices):
    RED_CARD = "red_card", _("red card")
    DEADLINE = "deadline", _("deadline notice")


class NoticeStatus(models.TextChoices):
    ACTIVE = "active", _("in force")
    FULFILLED = "fulfilled", _("fulfilled")
    ENFORCED = "enforced", _("consequence applied")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ProjectNotice(models.Model):
    """亮红牌 or a deadline notice (限期开工, else cancel) on a project, with its follow-up."""

    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=NoticeKind.choices)
    requirement = models.TextField(_("requirement"))
    deadline = models.DateField(
        _("deadline"), validators=[validate_plausible_date], null=True, blank=True
    )
    consequence = models.CharField(
        _("consequence if missed"), max_length=200, blank=True, help_text=_("e.g. 逾期取消项目")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.ACTIVE
    )
    issued_on = models.DateField(_("issued on"), validators=[validate_plausible_date])
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.TextField(_("follow-up"), blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("settled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("project notice")
        verbose_name_plural = _("project notices")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="deadline") | Q(deadline__isnull=False),
                name="notice_deadline_needs_date",
                violation_error_message=_("A deadline notice needs a deadline."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.get_kind_display()}"

    def is_overdue(self, on) -> bool:
        return (
            self.status == NoticeStatus.ACTIVE and self.deadline is not None and self.deadline < on
        )


# ---------------------------------------------------------------------------------------------
# Notifications: the in-app inbox, e-mail digests and group-robot webhooks
# ---------------------------------------------------------------------------------------------


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # What happened, e.g. "issue.raised", "issue.escalated", "alert.red", "ranking.published".
    event = models.CharField(_("event"), max_length=40)
    title = models.CharField(pgettext_lazy("document", "title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["emailed_at", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class DigestFrequency(models.TextChoices):
    NEVER = "never", _("never")
    DAILY = "daily", _("daily")
    IMMEDIATE = "immediate", _("at once")


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email = models.CharField(
        _("e-mail"), max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    # Events the user does not want in the inbox (e.g. ["alert.yellow"]).
    muted_events = models.JSONField(_("muted events"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)


class WebhookKind(models.TextChoices):
    DINGTALK = "dingtalk", _("DingTalk group robot")
    WECOM = "wecom", _("WeCom group robot")
    JSON = "json", _("JSON webhook (HMAC signed)")


class Webhook(models.Model):
    """A group robot or endpoint that receives the events of a unit's subtree."""

    name = models.CharField(_("name"), max_length=100)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="webhooks"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=WebhookKind.choices)
    url = models.URLField(_("address"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk 加签 secret, or the HMAC key of a JSON webhook."),
    )
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("Empty: every event.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class WebhookDelivery(models.Model):
    """The delivery log: one row per event and webhook, with every attempt's outcome."""

    webhook = models.ForeignKey(
        Webhook, verbose_name=_("webhook"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.webhook} · {self.event}"


class DashboardSnapshot(models.Model):
    """A leader's dashboard figures for one unit's scope on one day, computed by the nightly job
    (or on first request for a day it has not covered) so the page reads one row."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    date = models.DateField(_("date"), validators=[validate_plausible_date])
    data = models.JSONField(_("figures"), encoder=DjangoJSONEncoder)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("dashboard snapshot")
        verbose_name_plural = _("dashboard snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "date"],
                name="dashboard_one_per_unit_day",
                violation_error_message=_(
                    "The figures of this unit for this day are already stored."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.date}"
