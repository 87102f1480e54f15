"""The projects domain (DESIGN.md §2): units, people, projects and what is reported on them.

Writes go through ``projects.services``; these classes hold fields, database constraints and
chainable reads only. Money is in 万元 as Decimal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Now, Substr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from tracker import validation
from tracker.dates import validate_plausible_date, validate_plausible_year
from tracker.periods import PERIOD_KIND_CHOICES

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0")
CENT = Decimal("0.01")


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, **MONEY, **kwargs)


# ---------------------------------------------------------------------------------------------
# Units and people
# ---------------------------------------------------------------------------------------------


class UnitKind(models.TextChoices):
    CITY = "city", _("city")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")
    DEPARTMENT = "department", _("department")
    ZONE = "zone", _("zone or park")
    TEAM = "team", _("task team")


class UnitQuerySet(models.QuerySet["Unit"]):
    def subtree(self, unit: Unit, *, include_self: bool = True) -> UnitQuerySet:
        qs = self.filter(path__startswith=unit.path)
        return qs if include_self else qs.exclude(pk=unit.pk)

    def active(self) -> UnitQuerySet:
        return self.filter(is_active=True)


def path_ids(path: str) -> list[int]:
    """The ids in a materialised path ("/1/7/42/" → [1, 7, 42]): the root first, the unit last."""
    return [int(part) for part in path.strip("/").split("/") if part]


def path_prefixes(path: str) -> list[str]:
    """The paths of the units from the root down to ``path`` ("/1/", "/1/7/", "/1/7/42/")."""
    ids = path_ids(path)
    return [f"/{'/'.join(str(pk) for pk in ids[:n])}/" for n in range(1, len(ids) + 1)]


class Unit(models.Model):
    """One node of the organisation tree.

    ``path`` is a materialised path of primary keys ("/1/7/42/") kept by ``save``: a subtree is
    one indexed ``LIKE '/1/7/%'`` query on any database, with no recursive SQL.
    """

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("tree path"), max_length=255, editable=False, db_index=True)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    code = models.CharField(
        _("code"),
        max_length=30,
        blank=True,
        # What the API's uniqueness check says too (the constraint below has the same message).
        error_messages={"unique": _("Another unit already has this code.")},
    )
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UnitQuerySet.as_manager()
    # path and depth are derived; a new unit's placeholder path must not reach the history.
    history = HistoricalRecords(excluded_fields=["path", "depth"])

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="unit_unique_name_per_parent",
                violation_error_message=_(
                    "A unit with this name already exists under the same parent unit."
                ),
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=~Q(code=""),
                name="unit_unique_code",
                violation_error_message=_("Another unit already has this code."),
                violation_error_code="unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        old_path = self.path
        parent_path = self.parent.path if self.parent_id else "/"
        if self.pk is None:
            self.path = f"{parent_path}~/"  # placeholder until the primary key exists
            super().save(*args, **kwargs)
            self.path = f"{parent_path}{self.pk}/"
            self.depth = self.path.count("/") - 2
            type(self).objects.filter(pk=self.pk).update(path=self.path, depth=self.depth)
            return
        self.path = f"{parent_path}{self.pk}/"
        self.depth = self.path.count("/") - 2
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # The unit moved: rewrite the paths of its whole subtree in one statement.
            delta = self.depth - (old_path.count("/") - 2)
            type(self).objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1)),
                depth=F("depth") + delta,
                updated_at=Now(),
            )

    def clean(self) -> None:
        moved_under_itself = self.parent_id == self.pk or (
            self.parent is not None and self.parent.path.startswith(self.path)
        )
        if self.pk and self.parent_id and moved_under_itself:
            raise ValidationError(
                {"parent": _("A unit cannot be placed under itself or its own sub-unit.")}
            )

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def ancestors(self, *, include_self: bool = False) -> UnitQuerySet:
        ids = path_ids(self.path)
        if not include_self:
            ids = ids[:-1]
        return Unit.objects.filter(pk__in=ids).order_by("depth")

    def descendants(self, *, include_self: bool = False) -> UnitQuerySet:
        return Unit.objects.subtree(self, include_self=include_self)

    def contains(self, other: Unit) -> bool:
        return other.path.startswith(self.path)


class Role(models.TextChoices):
    REPORTER = "reporter", _("reporter")
    UNIT_HEAD = "unit_head", _("unit head")
    SUPERVISOR = "supervisor", _("supervisor")
    LEADER = "leader", _("leader")
    ADMIN = "admin", _("administrator")


class Membership(models.Model):
    """A user's role in a unit; its scope is the unit's whole subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"],
                name="membership_unique_user_unit_role",
                violation_error_message=_("This user already has this role in this unit."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"


class Leader(models.Model):
    """A county leader (县长, 副县长…) who leads or co-leads projects (包联/挂点)."""

    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("title"), max_length=100)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("government unit"),
        on_delete=models.PROTECT,
        related_name="leaders",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leader_profile",
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("leader")
        verbose_name_plural = _("leaders")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.title}）"


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------


class ProjectKind(models.TextChoices):
    PROJECT = "project", _("construction project")
    TASK = "task", _("key task")


class ProjectLevel(models.TextChoices):
    NATIONAL = "national", _("national key project")
    PROVINCIAL = "provincial", _("provincial key project")
    CITY = "city", _("city key project")
    COUNTY = "county", _("county key project")


class Category(models.TextChoices):
    TRANSPORT = "transport", _("transport")
    WATER = "water", _("water conservancy")
    INDUSTRY = "industry", _("industry")
    AGRICULTURE = "agriculture", _("agriculture")
    TOURISM = "tourism", _("culture and tourism")
    LOGISTICS = "logistics", _("logistics")
    LIVELIHOOD = "livelihood", _("social livelihood")
    ECOLOGY = "ecology", _("ecology and environment")
    URBAN = "urban", _("urban construction")
    ENERGY = "energy", _("energy")
    OTHER = "other", _("other")


class Tier(models.TextChoices):
    PRIMARY = "primary", _("primary industry")
    SECONDARY = "secondary", _("secondary industry")
    TERTIARY = "tertiary", _("tertiary industry")


class BuildType(models.TextChoices):
    NEW = "new", _("new build")
    CONTINUED = "continued", _("continued build")
    RESUMED = "resumed", _("resumed build")


class Source(models.TextChoices):
    GOVERNMENT = "government", _("government investment")
    ATTRACTION = "attraction", _("investment attraction")
    SOCIAL = "social", _("social investment")
    PPP = "ppp", _("PPP")


class Stage(models.TextChoices):
    LEAD = "lead", pgettext_lazy("stage", "lead")
    NEGOTIATING = "negotiating", _("negotiating")
    SIGNED = "signed", _("signed")
    RESERVE = "reserve", _("reserve")
    PREPARING = "preparing", _("preliminary work")
    UNDER_CONSTRUCTION = "under_construction", _("under construction")
    COMPLETED = "completed", _("completed")
    OPERATING = "operating", _("in operation")
    SUSPENDED = "suspended", _("suspended")
    CANCELLED = "cancelled", _("cancelled")


# The funnel in order; side states (suspended, cancelled) are outside it.
STAGE_FUNNEL = [
    Stage.LEAD,
    Stage.NEGOTIATING,
    Stage.SIGNED,
    Stage.RESERVE,
    Stage.PREPARING,
    Stage.UNDER_CONSTRUCTION,
    Stage.COMPLETED,
    Stage.OPERATING,
]
STARTED_STAGES = [Stage.UNDER_CONSTRUCTION, Stage.COMPLETED, Stage.OPERATING]


class Light(models.TextChoices):
    GREEN = "green", pgettext_lazy("light", "green")
    YELLOW = "yellow", pgettext_lazy("light", "yellow")
    RED = "red", pgettext_lazy("light", "red")


CLOSED_STAGES = [Stage.COMPLETED, Stage.OPERATING, Stage.CANCELLED]
# Projects in these stages no longer owe progress reports.
NOT_REPORTING_STAGES = [Stage.OPERATING, Stage.CANCELLED]


class Tag(models.Model):
    """A programme or label (三峡后续规划, 民生实事, 三年行动计划…)."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("programme tag")
        verbose_name_plural = _("programme tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def bundle_ids():
    """A subquery of the ids of bundles (打捆项目): projects that have sub-projects."""
    return Project.objects.filter(parent__isnull=False).values("parent_id")


class ProjectQuerySet(models.QuerySet["Project"]):
    def in_unit_subtree(self, unit: Unit) -> ProjectQuerySet:
        return self.filter(lead_unit__path__startswith=unit.path)

    def reporting(self) -> ProjectQuerySet:
        """Projects that owe a progress report every period.

        A bundle (打捆项目) reports through its sub-projects, never itself.
        """
        return self.exclude(stage__in=NOT_REPORTING_STAGES).exclude(pk__in=bundle_ids())

    def with_related(self) -> ProjectQuerySet:
        return self.select_related("lead_unit", "township", "lead_leader", "parent")


class Project(models.Model):
    code = models.CharField(
        _("project code"),
        max_length=40,
        blank=True,
        # What the API's uniqueness check says too (the constraint below has the same message).
        error_messages={"unique": _("Another project already has this project code.")},
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ProjectKind.choices, default=ProjectKind.PROJECT
    )
    level = models.CharField(
        _("level"), max_length=12, choices=ProjectLevel.choices, default=ProjectLevel.COUNTY
    )
    category = models.CharField(_("category"), max_length=15, choices=Category.choices)
    tier = models.CharField(_("industry tier"), max_length=10, choices=Tier.choices, blank=True)
    build_type = models.CharField(
        _("build type"), max_length=10, choices=BuildType.choices, blank=True
    )
    source = models.CharField(
        _("investment source"), max_length=12, choices=Source.choices, blank=True
    )
    is_private = models.BooleanField(_("private investment"), default=False)
    tags = models.ManyToManyField(Tag, verbose_name=_("programmes"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent project"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subprojects",
    )
    description = models.TextField(_("construction content and scale"), blank=True)

    township = models.ForeignKey(
        Unit,
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="located_projects",
        limit_choices_to={"kind": UnitKind.TOWNSHIP},
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    lead_unit = models.ForeignKey(
        Unit,
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        related_name="led_projects",
    )
    cooperating_units = models.ManyToManyField(
        Unit,
        verbose_name=_("cooperating units"),
        blank=True,
        related_name="cooperating_projects",
    )
    lead_leader = models.ForeignKey(
        Leader,
        verbose_name=_("lead leader"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_projects",
    )
    co_leaders = models.ManyToManyField(
        Leader, verbose_name=_("co-leaders"), blank=True, related_name="co_led_projects"
    )
    owner = models.CharField(_("project owner"), max_length=200, blank=True)
    contractor = models.CharField(_("contractor"), max_length=200, blank=True)
    supervising_engineer = models.CharField(_("supervising engineer"), max_length=200, blank=True)

    total_investment = money_field(_("total investment (10k yuan)"))
    prior_investment = money_field(
        _("investment completed before tracking (10k yuan)"),
        help_text=_(
            "Completed before the first period reported on this platform; cumulative figures "
            "start from it."
        ),
    )
    remarks = models.TextField(_("remarks"), blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    stage_changed_on = models.DateField(
        _("stage changed on"), validators=[validate_plausible_date], null=True, blank=True
    )

    red_card = models.BooleanField(_("red card"), default=False)
    red_card_reason = models.TextField(_("red card reason"), blank=True)
    # 红黄绿灯: the worst active alert, written by the supervision alert scan (never by a form).
    light = models.CharField(
        _("light"), max_length=6, choices=Light.choices, default=Light.GREEN, editable=False
    )

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ProjectQuerySet.as_manager()
    history = HistoricalRecords(
        m2m_fields=[cooperating_units, co_leaders, tags], excluded_fields=["light"]
    )

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-total_investment", "id"]
        indexes = [
            models.Index(fields=["stage"]),
            models.Index(fields=["category"]),
            models.Index(fields=["updated_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_investment__gte=0),
                name="project_total_investment_non_negative",
                violation_error_message=_("The total investment cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(prior_investment__gte=0),
                name="project_prior_investment_non_negative",
                violation_error_message=_(
                    "The investment completed before tracking cannot be negative."
                ),
            ),
            models.CheckConstraint(
                condition=Q(red_card=False) | ~Q(red_card_reason=""),
                name="project_red_card_needs_reason",
                violation_error_message=_("A red card needs a reason."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="project_latitude_range",
                violation_error_message=_("The latitude must be between -90 and 90 degrees."),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="project_longitude_range",
                violation_error_message=_("The longitude must be between -180 and 180 degrees."),
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=~Q(code=""),
                name="project_unique_code",
                violation_error_message=_("Another project already has this project code."),
                violation_error_code="unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.parent_id and self.pk and self.parent_id == self.pk:
            errors["parent"] = _("A project cannot be its own parent.")
        if self.parent is not None and self.parent.parent_id is not None:
            errors["parent"] = _("Sub-projects cannot themselves have sub-projects.")
        if self.red_card and not self.red_card_reason.strip():
            errors["red_card_reason"] = _("A red card needs a reason.")
        if self.township_id and self.township and self.township.kind != UnitKind.TOWNSHIP:
            errors["township"] = _("Choose a township.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_started(self) -> bool:
        return self.stage in STARTED_STAGES


class ProjectYearPlan(models.Model):
    """年度计划: a project's plan for one calendar year."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="year_plans"
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_plausible_year])
    planned_investment = money_field(_("planned investment (10k yuan)"))
    planned_start = models.DateField(
        _("planned start"), validators=[validate_plausible_date], null=True, blank=True
    )
    planned_completion = models.DateField(
        _("planned completion"), validators=[validate_plausible_date], null=True, blank=True
    )
    physical_target = models.TextField(_("annual construction content"), blank=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("annual plan")
        verbose_name_plural = _("annual plans")
        ordering = ["project", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "year"],
                name="year_plan_unique_year",
                violation_error_message=_("The project already has a plan for this year."),
            ),
            models.CheckConstraint(
                condition=Q(planned_investment__gte=0),
                name="year_plan_investment_non_negative",
                violation_error_message=_("The planned investment cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_completion__isnull=True)
                | Q(planned_completion__gte=F("planned_start")),
                name="year_plan_completion_after_start",
                violation_error_message=_(
                    "The planned completion cannot be before the planned start."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.year}"

    def clean(self) -> None:
        if (
            self.planned_start
            and self.planned_completion
            and self.planned_completion < self.planned_start
        ):
            raise ValidationError(
                {"planned_completion": _("The planned completion is before the planned start.")}
            )


class StageChange(models.Model):
    """One step of a project through the stage funnel; the funnel counts come from this log."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(_("from stage"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=20, choices=Stage.choices)
    changed_on = models.DateField(_("date of change"), validators=[validate_plausible_date])
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["project", "changed_on", "id"]
        indexes = [models.Index(fields=["to_stage", "changed_on"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_stage=F("to_stage")),
                name="stage_change_changes_stage",
                violation_error_message=_("The new stage must differ from the current stage."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.from_stage or '—'} → {self.to_stage} ({self.changed_on})"


# ---------------------------------------------------------------------------------------------
# Milestones
# ---------------------------------------------------------------------------------------------


class MilestoneKind(models.TextChoices):
    APPROVAL = "approval", _("project approval")
    FEASIBILITY = "feasibility", _("feasibility study approval")
    LAND = "land", _("land pre-review and land procedures")
    PLANNING = "planning", _("planning permits")
    ENVIRONMENT = "environment", _("environmental assessment")
    TENDERING = "tendering", _("tendering")
    CONSTRUCTION_PERMIT = "construction_permit", _("construction permit")
    START = "start", _("construction start")
    MAIN_STRUCTURE = "main_structure", _("main structure completed")
    ACCEPTANCE = "acceptance", _("completion acceptance")
    OPERATION = "operation", _("put into operation")
    CUSTOM = "custom", _("other")


class MilestoneQuerySet(models.QuerySet["Milestone"]):
    def open(self) -> MilestoneQuerySet:
        return self.filter(done_date__isnull=True)

    def overdue_on(self, day: dt.date) -> MilestoneQuerySet:
        return self.open().filter(due_date__lt=day)


class Milestone(models.Model):
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="milestones"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=MilestoneKind.choices, default=MilestoneKind.CUSTOM
    )
    name = models.CharField(_("name"), max_length=100)
    due_date = models.DateField(_("due date"), validators=[validate_plausible_date])
    original_due_date = models.DateField(
        _("original due date"), validators=[validate_plausible_date], editable=False
    )
    done_date = models.DateField(
        _("date done"), validators=[validate_plausible_date], null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MilestoneQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["project", "due_date", "sort_order", "id"]
        indexes = [models.Index(fields=["due_date", "done_date"])]

    def __str__(self) -> str:
        return f"{self.project} · {self.name}"

    def save(self, *args, **kwargs) -> None:
        if self.original_due_date is None:
            self.original_due_date = self.due_date
        super().save(*args, **kwargs)

    def is_overdue(self, on: dt.date) -> bool:
        return self.done_date is None and self.due_date < on

    def was_late(self) -> bool:
        return self.done_date is not None and self.done_date > self.due_date


class MilestoneRevision(models.Model):
    """A change of a milestone's due date, with its reason (标明原因、修订时间)."""

    milestone = models.ForeignKey(
        Milestone, verbose_name=_("milestone"), on_delete=models.CASCADE, related_name="revisions"
    )
    previous_due_date = models.DateField(
        _("previous due date"), validators=[validate_plausible_date]
    )
    new_due_date = models.DateField(_("new due date"), validators=[validate_plausible_date])
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revised by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("revised at"), auto_now_add=True)

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("milestone revision")
        verbose_name_plural = _("milestone revisions")
        ordering = ["milestone", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="milestone_revision_has_reason",
                violation_error_message=_("Give the reason for changing the due date."),
            ),
            models.CheckConstraint(
                condition=~Q(previous_due_date=F("new_due_date")),
                name="milestone_revision_changes_date",
                violation_error_message=_("The new due date must differ from the current one."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone}: {self.previous_due_date} → {self.new_due_date}"


# ---------------------------------------------------------------------------------------------
# Progress reports
# ---------------------------------------------------------------------------------------------


class ReportStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("report status", "draft")
    SUBMITTED = "submitted", pgettext_lazy("report status", "submitted")
    APPROVED = "approved", pgettext_lazy("report status", "approved")
    RETURNED = "returned", pgettext_lazy("report status", "returned")


# Reports whose figures count in derived totals (year-to-date, cumulative).
COUNTED_REPORT_STATUSES = [ReportStatus.SUBMITTED, ReportStatus.APPROVED]


class ProgressReportQuerySet(models.QuerySet["ProgressReport"]):
    def counted(self) -> ProgressReportQuerySet:
        return self.filter(status__in=COUNTED_REPORT_STATUSES)


class ProgressReport(models.Model):
    """进度填报: one per project per reporting period."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="reports"
    )
    period_kind = models.CharField(_("period kind"), max_length=12, choices=PERIOD_KIND_CHOICES)
    period_key = models.CharField(_("period"), max_length=12)
    period_start = models.DateField(_("period start"), validators=[validate_plausible_date])
    period_end = models.DateField(_("period end"), validators=[validate_plausible_date])
    deadline = models.DateField(_("deadline"), validators=[validate_plausible_date])

    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    investment = money_field(_("investment completed this period (10k yuan)"))
    physical_progress = models.TextField(_("physical progress"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Timeliness is judged on the first submission: a correction after a return is not late.
    first_submitted_at = models.DateTimeField(_("first submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    return_reason = models.TextField(_("reason for return"), blank=True)

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ProgressReportQuerySet.as_manager()
    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["project", "-period_start"]
        indexes = [
            models.Index(fields=["period_key", "status"]),
            models.Index(fields=["updated_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "period_key"],
                name="report_one_per_project_period",
                violation_error_message=_("The project already has a report for this period."),
            ),
            models.CheckConstraint(
                condition=Q(investment__gte=0),
                name="report_investment_non_negative",
                violation_error_message=_("The investment cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="report_period_ordered",
                violation_error_message=_("The period cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "returned"]) | Q(submitted_at__isnull=False),
                name="report_submitted_has_time",
                violation_error_message=_("A submitted report needs the time it was submitted."),
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""),
                name="report_returned_has_reason",
                violation_error_message=_("Give the reason for returning the report."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.period_key}"

    @property
    def is_late(self) -> bool:
        """Submitted after its deadline (Asia/Shanghai dates)."""
        from django.utils import timezone

        first = self.first_submitted_at or self.submitted_at
        return first is not None and timezone.localtime(first).date() > self.deadline

    @property
    def is_editable(self) -> bool:
        return self.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)


class ReportTally(models.Model):
    """The progress reports of the projects a unit leads, summed for one reporting period.

    Derived data, kept exact by ``projects.tallies`` in the transaction that changes a report,
    a project or a registration, so that the rankings read a row per unit and period instead
    of every report (docs/rankings.md). ``manage.py rebuild_report_tallies`` recomputes it.
    """

    unit = models.ForeignKey(
        Unit, verbose_name=_("lead unit"), on_delete=models.CASCADE, related_name="+"
    )
    period_key = models.CharField(_("period"), max_length=12)
    period_start = models.DateField(_("period start"), validators=[validate_plausible_date])
    period_end = models.DateField(_("period end"), validators=[validate_plausible_date])
    # Submitted and approved reports: what counts in year-to-date figures.
    investment = models.DecimalField(
        _("investment completed this period (10k yuan)"),
        max_digits=18,
        decimal_places=2,
        default=ZERO,
    )
    # Reports first submitted by their deadline.
    on_time = models.PositiveIntegerField(_("reports on time"), default=0)
    # Reports of projects that did not owe one (registered later, a bundle, operating or
    # cancelled now): they add to what was due.
    unowed = models.PositiveIntegerField(_("reports not owed"), default=0)

    class Meta:
        verbose_name = _("report tally")
        verbose_name_plural = _("report tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period_key"],
                name="tally_one_per_unit_period",
                violation_error_message=_("The unit already has a tally for this period."),
            )
        ]
        indexes = [models.Index(fields=["period_end", "period_start"])]

    def __str__(self) -> str:
        return f"{self.unit_id} · {self.period_key}"


def report_photo_path(instance: ReportPhoto, filename: str) -> str:
    return f"reports/{instance.report.project_id}/{instance.report.period_key}/{filename}"


class ReportPhoto(models.Model):
    report = models.ForeignKey(
        ProgressReport,
        verbose_name=_("progress report"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    image = models.ImageField(_("photo"), upload_to=report_photo_path)
    thumbnail = models.ImageField(_("thumbnail"), upload_to=report_photo_path, blank=True)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["report", "uploaded_at"]

    def __str__(self) -> str:
        return self.caption or self.image.name


# ---------------------------------------------------------------------------------------------
# Funding and targets
# ---------------------------------------------------------------------------------------------


class FundingSource(models.TextChoices):
    CENTRAL_BUDGET = "central_budget", _("central budget investment")
    SPECIAL_BOND = "special_bond", _("special-purpose bonds")
    GENERAL_BOND = "general_bond", _("general bonds")
    UPPER_SPECIAL = "upper_special", _("higher-level special funds")
    COUNTY_FISCAL = "county_fiscal", _("county finance")
    BANK_LOAN = "bank_loan", _("bank loans")
    SELF_RAISED = "self_raised", _("self-raised by the enterprise")
    SOCIAL = "social", _("social capital / PPP")


class ProjectFunding(models.Model):
    """Planned and arrived money for one project from one source."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="funding"
    )
    source = models.CharField(_("funding source"), max_length=20, choices=FundingSource.choices)
    planned = money_field(_("planned (10k yuan)"))
    arrived = money_field(_("arrived (10k yuan)"))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("project funding")
        verbose_name_plural = _("project funding")
        ordering = ["project", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source"],
                name="funding_unique_source",
                violation_error_message=_("The project already has a row for this funding source."),
            ),
            models.CheckConstraint(
                condition=Q(planned__gte=0) & Q(arrived__gte=0),
                name="funding_non_negative",
                violation_error_message=_("Planned and arrived funds cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.get_source_display()}"


class ApplicationStatus(models.TextChoices):
    PREPARING = "preparing", pgettext_lazy("funding application", "preparing")
    SUBMITTED = "submitted", pgettext_lazy("funding application", "submitted")
    APPROVED = "approved", pgettext_lazy("funding application", "approved")
    ARRIVED = "arrived", pgettext_lazy("funding application", "funds arrived")
    REJECTED = "rejected", pgettext_lazy("funding application", "not approved")


class FundingApplication(models.Model):
    """向上争取: a unit's application for money from a higher level."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="funding_applications"
    )
    project = models.ForeignKey(
        Project,
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="funding_applications",
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_plausible_year])
    title = models.CharField(_("title"), max_length=200)
    channel = models.CharField(_("channel"), max_length=20, choices=FundingSource.choices)
    policy_basis = models.TextField(_("policy basis"), blank=True)
    requested = money_field(_("requested (10k yuan)"))
    approved = money_field(_("approved (10k yuan)"))
    arrived = money_field(_("arrived (10k yuan)"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.PREPARING,
    )
    applied_on = models.DateField(
        _("applied on"), validators=[validate_plausible_date], null=True, blank=True
    )
    approved_on = models.DateField(
        _("approved on"), validators=[validate_plausible_date], null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("funding application")
        verbose_name_plural = _("funding applications")
        ordering = ["-year", "unit", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested__gte=0) & Q(approved__gte=0) & Q(arrived__gte=0),
                name="application_non_negative",
                violation_error_message=_(
                    "Requested, approved and arrived amounts cannot be negative."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.arrived > self.approved and self.approved > 0:
            errors["arrived"] = _("The amount arrived exceeds the amount approved.")
        if self.status in (ApplicationStatus.APPROVED, ApplicationStatus.ARRIVED) and not (
            self.approved > 0
        ):
            errors["approved"] = _("An approved application needs the approved amount.")
        if self.status == ApplicationStatus.ARRIVED and not self.arrived > 0:
            errors["arrived"] = _("Enter the amount that has arrived.")
        if self.status == ApplicationStatus.PREPARING and (self.approved > 0 or self.arrived > 0):
            errors["status"] = _("An application still being prepared has nothing approved.")
        if self.applied_on and self.approved_on and self.approved_on < self.applied_on:
            errors["approved_on"] = _("The approval date is before the application date.")
        if errors:
            raise ValidationError(errors)


class TargetMetric(models.TextChoices):
    FUNDING = "funding", _("upward funding won")
    ATTRACTION_SIGNED = "attraction_signed", _("investment attraction signed")
    ATTRACTION_ARRIVED = "attraction_arrived", _("investment funds arrived")
    FIXED_ASSET = "fixed_asset", _("fixed-asset investment")
    PROJECTS_STARTED = "projects_started", _("projects started")
    PROJECTS_SIGNED = "projects_signed", _("projects signed")


COUNT_METRICS = {TargetMetric.PROJECTS_STARTED, TargetMetric.PROJECTS_SIGNED}


class Target(models.Model):
    """目标任务: what a unit must achieve in a year on one metric, and what it has so far."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="targets"
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_plausible_year])
    metric = models.CharField(_("metric"), max_length=20, choices=TargetMetric.choices)
    target_value = models.DecimalField(_("target"), **MONEY)
    actual_value = money_field(_("achieved so far"))
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["-year", "unit", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "metric"],
                name="target_unique_unit_year_metric",
                violation_error_message=_(
                    "The unit already has a target for this metric and year."
                ),
            ),
            models.CheckConstraint(
                condition=Q(target_value__gt=0),
                name="target_positive",
                violation_error_message=_("The target must be greater than zero."),
            ),
            models.CheckConstraint(
                condition=Q(actual_value__gte=0),
                name="target_actual_non_negative",
                violation_error_message=_("The achieved value cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.year} · {self.get_metric_display()}"

    @property
    def measure(self) -> str:
        return str(_("projects")) if self.metric in COUNT_METRICS else str(_("10k yuan"))

    @property
    def completion_rate(self) -> Decimal:
        return self.actual_value / self.target_value if self.target_value else ZERO

    @property
    def is_zero(self) -> bool:
        """未破零: nothing achieved yet."""
        return self.actual_value == 0


class MilestoneTemplate(models.Model):
    """One step of a category's standard schedule, laid out backward from a target date (倒排工期).

    ``days_before_target`` is how long before the target date (e.g. the planned completion)
    the step is due; the step with 0 is the target itself.
    """

    category = models.CharField(_("category"), max_length=15, choices=Category.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=MilestoneKind.choices)
    name = models.CharField(_("name"), max_length=100)
    days_before_target = models.PositiveIntegerField(_("days before the target date"))

    class Meta:
        verbose_name = _("milestone template")
        verbose_name_plural = _("milestone templates")
        ordering = ["category", "-days_before_target"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "name"],
                name="milestone_template_unique_name",
                violation_error_message=_(
                    "This category already has a milestone template of this name."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.name}"


# ---------------------------------------------------------------------------------------------
# API tokens
# ---------------------------------------------------------------------------------------------


class ApiToken(models.Model):
    """A user's token for programs calling the REST API (``Authorization: Bearer <token>``).

    Only the sha256 of the secret is stored; ``prefix`` (its first characters) is kept in clear
    so a person can tell tokens apart and the lookup is an indexed query. Created and revoked
    through ``projects.tokens``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8, db_index=True, editable=False)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    write = models.BooleanField(_("read-write"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope(self) -> str:
        return "read-write" if self.write else "read"

    def is_active(self, now: dt.datetime | None = None) -> bool:
        from django.utils import timezone

        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class IdempotencyKey(models.Model):
    """An API POST sent with an ``Idempotency-Key`` header, and what it answered.

    The same user sending the same key with the same request within a day gets this answer
    again and nothing is written twice (``projects.api.idempotency``). Kept in the database,
    not the cache: it must hold when Redis is down, and a concurrent second request waits on
    this row's unique key.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2000)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), default=0)
    response = models.JSONField(_("answer given"), null=True, encoder=DjangoJSONEncoder)
    headers = models.JSONField(_("headers of the answer"), default=dict)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="idempotency_key_once_per_user",
                violation_error_message=_("This Idempotency-Key is already in use."),
            )
        ]

    def __str__(self) -> str:
        return self.key


# ---------------------------------------------------------------------------------------------
# Excel ledger imports
# ---------------------------------------------------------------------------------------------


class ImportKind(models.TextChoices):
    PROJECTS = "projects", _("project ledger")
    PROGRESS = "progress", _("monthly progress")


class ImportStatus(models.TextChoices):
    PARSING = "parsing", _("checking the file")
    PREVIEW = "preview", _("waiting for confirmation")
    COMMITTING = "committing", _("importing")
    DONE = "done", _("imported")
    FAILED = "failed", pgettext_lazy("ledger import", "failed")
    CANCELLED = "cancelled", pgettext_lazy("ledger import", "cancelled")


class RowStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ledger row", "new")
    CHANGED = "changed", pgettext_lazy("ledger row", "changed")
    UNCHANGED = "unchanged", pgettext_lazy("ledger row", "unchanged")
    ERROR = "error", pgettext_lazy("ledger row", "error")


class ImportBatch(models.Model):
    """One uploaded ledger: the file until it is imported, its parsed preview (one entry per row
    with its status, values, changes and errors) and what the import did.

    Written by ``projects.ledger_import`` only; the confirm step and the Celery tasks read the
    preview from here, never the file again.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="ledger_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="ledger_imports",
    )
    filename = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    # The uploaded bytes, kept until the import is done or cancelled (so it can be checked again).
    content = models.BinaryField(_("file content"), null=True, editable=False)
    year = models.PositiveSmallIntegerField(
        _("plan year"), validators=[validate_plausible_year], null=True, blank=True
    )
    period_key = models.CharField(_("period"), max_length=12, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PARSING
    )
    message = models.TextField(_("message"), blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    rows = models.JSONField(_("rows"), default=list, editable=False)
    counts = models.JSONField(_("counts"), default=dict, editable=False)
    skipped_rows = models.JSONField(_("rows left out"), default=list, editable=False)
    result = models.JSONField(_("result"), default=dict, editable=False)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    committed_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    # All check constraints in one query (tracker/validation.py says why).
    validate_constraints = validation.validate_constraints

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="progress") | ~Q(period_key=""),
                name="ledger_import_progress_has_period",
                violation_error_message=_("A progress ledger import needs a period."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.filename}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)


# ---------------------------------------------------------------------------------------------
# Tombstones
# ---------------------------------------------------------------------------------------------


class TombstoneReason(models.TextChoices):
    DELETED = "deleted", _("deleted")
    MOVED = "moved", _("left the scope")


class Tombstone(models.Model):
    """That an object was deleted, or that a project left a unit's scope, so API mirrors can
    follow. Deletions are written by ``projects.signals``, departures by ``project_update``.

    Only the model name and the id are kept: a tombstone reveals nothing else of the object.
    """

    model = models.CharField(_("model"), max_length=40, db_index=True)
    object_id = models.BigIntegerField(_("object id"))
    reason = models.CharField(
        _("reason"), max_length=10, choices=TombstoneReason.choices, default=TombstoneReason.DELETED
    )
    # For a project that left a unit's scope: the path of that unit, so that only the users whose
    # scope covered it are told. Blank for deletions, which every user may read.
    scope_path = models.CharField(_("scope path"), max_length=255, blank=True, db_index=True)
    deleted_at = models.DateTimeField(_("deleted at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id}"
