"""The supervision part of the demo county: default ranking schemes with a year of history.

Connected to ``projects.signals.demo_seeded`` (supervision builds on projects, never the reverse).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from projects.signals import demo_seeded
from supervision import notifications, rankings
from supervision.alerts import scan_alerts
from supervision.inspections.demo import seed_inspections_and_meetings
from supervision.issues.demo import seed_ledger
from supervision.metrics import Facts
from supervision.models import Notification, RankingScheme, SchemeMetric
from tracker import periods

# name, child kinds, cadence, [(metric, weight)]
DEFAULT_SCHEMES = [
    (
        "县直部门月度综合排名",
        ["department"],
        "month",
        [
            ("investment_rate", 30),
            ("start_rate", 20),
            ("milestone_rate", 20),
            ("report_timeliness", 20),
            ("red_cards", 10),
            ("issue_close_rate", 10),
        ],
    ),
    (
        "乡镇（街道）月度综合排名",
        ["township"],
        "month",
        [
            ("investment_rate", 40),
            ("start_rate", 20),
            ("milestone_rate", 20),
            ("report_timeliness", 20),
        ],
    ),
    (
        "旬报填报及时率排名",
        ["department", "township", "zone"],
        "dekad",
        [("report_timeliness", 100)],
    ),
    (
        "半月招商跑项争资排名",
        ["department", "township", "zone", "team"],
        "half_month",
        [
            ("target_attraction_signed", 40),
            ("target_attraction_arrived", 30),
            ("target_funding", 30),
        ],
    ),
    (
        "季度综合考评排名",
        ["department", "township", "zone"],
        "quarter",
        [
            ("investment_rate", 30),
            ("schedule_gap", 10),
            ("start_rate", 20),
            ("milestone_rate", 20),
            ("report_timeliness", 10),
            ("target_funding", 10),
            ("issue_close_rate", 10),
            ("inspection_score", 10),
        ],
    ),
]


def create_default_schemes(county, year: int) -> list[RankingScheme]:
    schemes = []
    for order, (name, kinds, cadence, metrics) in enumerate(DEFAULT_SCHEMES, start=1):
        scheme = RankingScheme(
            name=name,
            parent_unit=county,
            child_kinds=kinds,
            cadence=cadence,
            starts_on=dt.date(year, 1, 1),
            sort_order=order,
        )
        scheme.full_clean()
        scheme.save()
        for position, (metric, weight) in enumerate(metrics, start=1):
            SchemeMetric.objects.create(
                scheme=scheme, metric=metric, weight=Decimal(weight), sort_order=position
            )
        schemes.append(scheme)
    return schemes


def seed_supervision(*, today: dt.date, county, supervisor, **kwargs) -> None:
    """The ledger, the alert scan of the day (which also steps overdue issues up), and the
    rankings."""

    seed_inspections_and_meetings(today=today, county=county, supervisor=supervisor)
    seed_ledger(today=today, county=county, supervisor=supervisor)
    scan_alerts(today=today)
    seed_rankings(today=today, county=county, supervisor=supervisor)


def demo_commentary(snapshot) -> str:
    """The supervisor's 点评 of the demo's latest bulletins, naming the units at both ends."""
    entries = list(snapshot.entries.select_related("unit").order_by("rank"))

    def names(units: list[str]) -> str:
        if len(units) <= 5:
            return "、".join(units)
        return f"{'、'.join(units[:3])}等{len(units)}个单位"

    top = names([e.unit.display_name for e in entries if e.is_top]) or "各单位"
    bottom = names([e.unit.display_name for e in entries if e.is_bottom])
    lines = [
        f"本期{top}排名靠前，项目推进有力，调度填报及时准确，予以通报表扬。",
    ]
    if bottom:
        lines.append(
            f"{bottom}排名靠后，投资完成和节点推进明显滞后，请主要负责同志亲自研究，"
            "于5个工作日内向县重点项目督查办公室书面报送整改措施。"
        )
    lines.append(
        "各单位要对照本通报所列亮红灯项目和逾期、升级督办问题，逐项明确责任领导、责任人和销号时限，"
        "确保按期完成年度目标任务。下期排名仍未改观的，将提请县委、县政府约谈。"
    )
    return "\n".join(lines)


# The 旬 ranking's latest closed period is left for the demo's supervisor to review and publish.
AWAITING_PUBLICATION = "dekad"


def seed_rankings(*, today: dt.date, county, supervisor, **kwargs) -> None:
    """Every closed period of the year computed and published (but the latest 旬, a draft
    awaiting the supervisor), the open one as a provisional draft."""
    facts = Facts()
    latest = []
    for scheme in create_default_schemes(county, today.year):
        published = None
        for period in periods.iter_between(scheme.cadence, scheme.starts_on, today):
            snapshot = rankings.ranking_compute(
                scheme=scheme, period=period, today=today, facts=facts
            )
            awaiting = scheme.cadence == AWAITING_PUBLICATION and period.next().end >= today
            if period.end < today and not awaiting:
                if period.next().end >= today:  # the latest closed period: today's news
                    rankings.ranking_set_commentary(
                        snapshot=snapshot, commentary=demo_commentary(snapshot), actor=supervisor
                    )
                published = rankings.ranking_publish(
                    snapshot=snapshot, actor=supervisor, today=today
                )
        if published is not None:
            latest.append(reverse("ranking_bulletin", args=[published.pk]))
    # A year of history is published at once here: only each scheme's latest ranking is news.
    history = Notification.objects.filter(event="ranking.published", read_at__isnull=True).exclude(
        url__in=latest
    )
    readers = set(history.values_list("recipient_id", flat=True))
    history.update(read_at=timezone.now())
    notifications.forget_unread(readers)


def connect() -> None:

    demo_seeded.connect(seed_supervision, dispatch_uid="supervision-demo")
