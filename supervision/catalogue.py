"""The names of the alert rules and of the ranking metrics: what a rule or a metric is called,
measured in, and (rules) where its thresholds start; no query.

A leaf module: the models validate rule and metric keys against it (``AlertRule.clean``,
``SchemeMetric.clean``) without importing the modules that evaluate them, which import the
models. What each rule finds is in ``supervision.alerts`` (``FINDERS``), how each metric is
computed in ``supervision.metrics`` (``COMPUTES``); both refuse to load when a key is missing
on either side.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from projects.models import TargetMetric

# A text shown to people: translated when it is shown (gettext_lazy), so a lazy string.
Text = str | Promise


@dataclass(frozen=True)
class RuleSpec:
    key: str
    label: Text
    measure: Text
    yellow_at: Decimal
    red_at: Decimal
    help: Text = ""


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: Text
    measure: Text  # shown after the value: "%", "万元", "个"
    higher_is_better: bool
    help: Text = ""


def spec_fields(spec: RuleSpec | MetricSpec) -> dict[str, object]:
    """A spec's fields by name, to build the rule or metric that adds its evaluation."""
    return {item.name: getattr(spec, item.name) for item in fields(spec)}


RULE_SPECS: dict[str, RuleSpec] = {
    spec.key: spec
    for spec in [
        RuleSpec(
            "milestone_overdue",
            _("milestone overdue"),
            _("days"),
            Decimal(1),
            Decimal(16),
            _("An open milestone past its due date; the value is the days overdue."),
        ),
        RuleSpec(
            "not_started",
            _("not started on time"),
            _("days"),
            Decimal(1),
            Decimal(30),
            _("Not under construction after the year plan's start date; days since."),
        ),
        RuleSpec(
            "investment_lag",
            _("investment behind schedule"),
            _("points"),
            Decimal(10),
            Decimal(20),
            _("Points by which year-to-date investment trails the elapsed share of the year."),
        ),
        RuleSpec(
            "report_missing",
            _("progress report missing"),
            _("rounds"),
            Decimal(1),
            Decimal(2),
            _("No submitted report for the last round due; red when two rounds running."),
        ),
        RuleSpec(
            "target_zero",
            _("target still at zero"),
            _("quarters"),
            Decimal(1),
            Decimal(2),
            _("未破零 after the first quarter; red after the half-year."),
        ),
        RuleSpec(
            "stalled",
            _("stalled"),
            _("reports"),
            Decimal(3),
            Decimal(6),
            _("No investment in the latest reports running."),
        ),
        RuleSpec(
            "issue_overdue",
            _("issue past its deadline"),
            _("days"),
            Decimal(1),
            Decimal(8),
            _(
                "A ledger issue not rectified by its deadline; red from the red threshold on, "
                "when the daily job also steps it to 督办."
            ),
        ),
    ]
}

METRIC_SPECS: dict[str, MetricSpec] = {
    spec.key: spec
    for spec in [
        MetricSpec(
            "investment_rate",
            _("investment completion rate"),
            "%",
            True,
            _("Year-to-date completed investment ÷ annual planned investment."),
        ),
        MetricSpec(
            "schedule_gap",
            _("gap to the elapsed share of the year"),
            "%",
            True,
            _(
                "Investment completion rate minus the share of the year elapsed (序时进度), "
                "in points."
            ),
        ),
        MetricSpec(
            "start_rate",
            _("start rate"),
            "%",
            True,
            _("Projects started ÷ projects due to start by the end of the period."),
        ),
        MetricSpec(
            "milestone_rate",
            _("milestones on time"),
            "%",
            True,
            _("Milestones done by their due date ÷ milestones due this year up to the period end."),
        ),
        MetricSpec(
            "report_timeliness",
            _("reporting timeliness"),
            "%",
            True,
            _("Reports first submitted by their deadline ÷ reports due."),
        ),
        *[
            MetricSpec(
                f"target_{value}",
                format_lazy(_("{target}: completion"), target=label),
                "%",
                True,
                _("Achieved so far ÷ the year's target."),
            )
            for value, label in TargetMetric.choices
        ],
        MetricSpec(
            "red_cards",
            _("projects with a red card"),
            "",
            False,
            _("Projects currently under a red card; fewer is better."),
        ),
        MetricSpec(
            "red_lights",
            _("projects on a red light"),
            "",
            False,
            _("Projects whose light is red now (red alerts or a red card); fewer is better."),
        ),
        MetricSpec(
            "issue_close_rate",
            _("issues closed"),
            "%",
            True,
            _(
                "Issues closed (销号) by their deadline ÷ issues due this year by the period end "
                "(an issue closed ahead of its deadline counts at once)."
            ),
        ),
        MetricSpec(
            "inspection_score",
            _("on-site appraisal score"),
            "",
            True,
            _(
                "Average score of the unit's projects in the inspections held in the period "
                "(观摩评比)."
            ),
        ),
    ]
}
METRIC_CHOICES = [(spec.key, spec.label) for spec in METRIC_SPECS.values()]
