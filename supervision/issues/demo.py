"""The demo county's supervision ledger: issues handed down, raised from report problems and
asked for by units, at every stage of their life — open, being rectified, overdue and stepped up
the ladder, rectified and waiting for verification, closed, declined — each with its timeline.

Everything goes through ``supervision.issues.services`` (so rights, timeline and history are real);
dates are then moved back so the ledger looks like months of work.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db.models import F

from projects.models import COUNTED_REPORT_STATUSES, Leader, Membership, ProgressReport, Role, Unit
from supervision.issues import services as issue_services
from supervision.models import (
    ExtensionRequest,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
)

HANDED_DOWN = [
    ("城区至园区公路沿线3户拆迁户未签约", IssueCategory.DEMOLITION, "月底前完成签约腾房"),
    ("水厂二期取水口用地预审未通过", IssueCategory.LAND_USE, "补充用地材料，重新报审"),
    ("产业园标准厂房环评批复滞后", IssueCategory.ENVIRONMENT, "加快环评报告修改报批"),
    ("滨江路改造涉及燃气管线迁改未启动", IssueCategory.PIPELINES, "协调燃气公司制定迁改方案"),
    ("中心医院门诊楼专项债资金拨付慢", IssueCategory.FUNDING, "按工程进度及时拨付"),
    ("安置房项目招标文件被投诉", IssueCategory.TENDERING, "核查投诉并依法处理"),
    ("污水管网工程施工围挡不规范", IssueCategory.CONSTRUCTION, "立即整改围挡和扬尘措施"),
    ("农贸市场改造规划方案未审定", IssueCategory.PLANNING, "提交规委会审议"),
]
KEYWORDS = [
    ("征地", IssueCategory.LAND_ACQUISITION),
    ("拆迁", IssueCategory.DEMOLITION),
    ("管线", IssueCategory.PIPELINES),
    ("环评", IssueCategory.ENVIRONMENT),
    ("资金", IssueCategory.FUNDING),
    ("用地", IssueCategory.LAND_USE),
    ("规划", IssueCategory.PLANNING),
    ("招标", IssueCategory.TENDERING),
]
RESPONSES = [
    "已召开专题会研究，明确专人负责，正在推进。",
    "已完成前期对接，相关材料正在准备中。",
    "已与相关单位协调，达成初步意见。",
    "现场已开始整改，预计按期完成。",
]
RECTIFIED = [
    "问题已整改到位，附整改前后照片及相关凭证。",
    "已完成全部整改工作，相关手续已办结。",
]


@dataclass
class Plan:
    """What happens to one demo issue, in order; ages in days before today."""

    raised_ago: int
    days_given: int
    steps: list[str] = field(default_factory=list)


# raised days ago, days given, what happened since
PLANS = [
    Plan(150, 30, ["respond", "rectified", "close"]),
    Plan(120, 30, ["respond", "rectified", "close"]),
    Plan(100, 45, ["respond", "urge", "rectified", "close"]),
    Plan(90, 30, ["respond", "rectified", "send_back", "respond", "rectified", "close"]),
    Plan(75, 20, ["urge", "respond", "escalate", "instruct"]),  # overdue, stepped up by hand
    Plan(60, 30, ["respond", "urge"]),  # overdue: the daily job steps it to 督办
    Plan(45, 30, ["respond", "rectified"]),  # waiting for verification
    Plan(40, 35, ["respond"]),  # overdue a few days: yellow
    Plan(30, 45, ["respond", "extension", "grant"]),
    Plan(20, 30, ["respond", "urge_up"]),  # the unit asks the county to push
    Plan(14, 30, ["extension"]),  # extension waiting for a decision
    Plan(10, 30, []),
    Plan(6, 20, ["instruct"]),
    Plan(3, 30, []),
]


def _person(unit: Unit, role: str):
    membership = (
        Membership.objects.filter(unit=unit, role=role, user__is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return membership.user if membership else None


def _category(text: str) -> str:
    return next((c for word, c in KEYWORDS if word in text), IssueCategory.OTHER)


def _report_problems(county: Unit, limit: int) -> list[ProgressReport]:
    reports = (
        ProgressReport.objects.filter(
            status__in=COUNTED_REPORT_STATUSES, project__lead_unit__path__startswith=county.path
        )
        .exclude(problems="")
        .select_related("project", "project__lead_unit", "project__lead_leader")
        .order_by("-period_start", "project_id")
    )
    seen, picked = set(), []
    for report in reports:
        text = report.problems.strip()
        if len(text) < 6 or text.startswith(("无", "暂无")):
            continue  # "无" is not a problem
        if report.project_id not in seen:
            seen.add(report.project_id)
            picked.append(report)
        if len(picked) == limit:
            break
    return picked


def _run(issue: Issue, steps: list[str], *, rng, supervisor, reporter, leader_user, other_unit):
    for step in steps:
        issue.refresh_from_db()
        if step == "respond":
            issue_services.issue_respond(issue=issue, actor=reporter, text=rng.choice(RESPONSES))
        elif step == "rectified":
            issue_services.issue_mark_rectified(
                issue=issue, actor=reporter, text=rng.choice(RECTIFIED)
            )
        elif step == "close":
            issue_services.issue_close(issue=issue, actor=supervisor, note="经现场核实，同意销号。")
        elif step == "send_back":
            issue_services.issue_send_back(
                issue=issue, actor=supervisor, reason="整改凭证不全，请补充后重新报送。"
            )
        elif step == "urge":
            issue_services.issue_urge(
                issue=issue, actor=supervisor, text="请加快整改进度，按期反馈。"
            )
        elif step == "escalate":
            issue_services.issue_escalate(
                issue=issue, actor=supervisor, level=3, reason="多次催办进展缓慢，挂牌督办。"
            )
        elif step == "instruct" and leader_user is not None:
            issue_services.issue_instruct(
                issue=issue, actor=leader_user, text="请责任单位主要负责人亲自过问，限期解决。"
            )
        elif step == "urge_up":
            issue_services.issue_urge_up(
                issue=issue,
                actor=reporter,
                text="该问题需相关部门配合，请县督查室督促协调。",
                target_unit=other_unit,
            )
        elif step == "extension":
            issue_services.issue_request_extension(
                issue=issue,
                actor=reporter,
                new_deadline=issue.deadline + dt.timedelta(days=20),
                reason="受雨季影响无法施工，申请延期。",
            )
        elif step == "grant":
            request = issue.extensions.get(status="pending")
            issue_services.issue_decide_extension(
                request=request, actor=supervisor, grant=True, note="情况属实，同意延期。"
            )


def _backdate(issue: Issue, plan: Plan, today: dt.date) -> None:
    """Move the issue and its timeline back to when they happened, keeping their order."""
    raised = today - dt.timedelta(days=plan.raised_ago)
    shift = dt.timedelta(days=plan.raised_ago)
    deadline = raised + dt.timedelta(days=plan.days_given)
    issue.refresh_from_db()
    extended = issue.deadline - issue.original_deadline
    events = list(issue.events.order_by("created_at", "id"))
    span = max(1, plan.raised_ago - 1)
    first = events[0].created_at - shift
    for n, event in enumerate(events):
        event.created_at = first + dt.timedelta(days=span * n / max(1, len(events)), hours=n)
        if event.deadline:
            event.deadline = event.deadline - (issue.original_deadline - deadline)
    IssueEvent.objects.bulk_update(events, ["created_at", "deadline"])
    last = events[-1].created_at
    ExtensionRequest.objects.filter(issue=issue).update(
        requested_deadline=F("requested_deadline") - (issue.original_deadline - deadline),
        requested_at=last,
    )
    Issue.objects.filter(pk=issue.pk).update(
        raised_on=raised,
        original_deadline=deadline,
        deadline=deadline + extended,
        resolved_at=last if issue.resolved_at else None,
        closed_at=last if issue.closed_at else None,
    )


def seed_ledger(*, today: dt.date, county: Unit, supervisor, rng: random.Random | None = None):
    """About twenty issues in every state, from handovers, report problems and unit requests."""
    rng = rng or random.Random(11)  # noqa: S311 - demo data, not secrets
    leader_users = {leader.pk: leader.user for leader in Leader.objects.filter(user__isnull=False)}
    any_leader = next(iter(leader_users.values()), None)
    departments = list(
        Unit.objects.filter(path__startswith=county.path, kind__in=["department", "township"])
        .exclude(memberships__isnull=True)
        .order_by("path")
    )
    sources = []
    for report in _report_problems(county, 8):
        sources.append(
            {
                "title": report.problems.strip().splitlines()[0][:120],
                "source": IssueSource.REPORT,
                "category": _category(report.problems),
                "unit": report.project.lead_unit,
                "project": report.project,
                "report": report,
                "requirement": "针对填报反映的问题制定整改措施，按期反馈。",
            }
        )
    for title, category, requirement in HANDED_DOWN:
        unit = rng.choice(departments)
        project = unit.led_projects.order_by("id").first()
        sources.append(
            {
                "title": title,
                "source": IssueSource.UPPER,
                "category": category,
                "unit": unit,
                "project": project,
                "requirement": requirement,
            }
        )
    issues = []
    for plan, spec in zip(PLANS, sources, strict=False):
        reporter = _person(spec["unit"], Role.REPORTER) or _person(spec["unit"], Role.UNIT_HEAD)
        if reporter is None:
            continue
        issue = issue_services.issue_raise(
            actor=supervisor,
            deadline=today + dt.timedelta(days=plan.days_given),
            description="",
            **spec,
        )
        project = spec.get("project")
        leader_user = leader_users.get(project.lead_leader_id) if project else None
        other = rng.choice([u for u in departments if u != spec["unit"]])
        _run(
            issue,
            plan.steps,
            rng=rng,
            supervisor=supervisor,
            reporter=reporter,
            leader_user=leader_user or any_leader,
            other_unit=other,
        )
        _backdate(issue, plan, today)
        issues.append(issue)
    # Units asking the county for coordination: two waiting in the office's queue, one declined.
    asks = [
        ("项目用电增容需供电公司配合", "请县里协调供电公司加快增容报装。", IssueCategory.OTHER),
        (
            "跨乡镇道路征地协调",
            "涉及两个乡镇的征地边界，请县里统筹协调。",
            IssueCategory.LAND_ACQUISITION,
        ),
        ("施工用水接入问题", "请水务部门支持临时用水接入。", IssueCategory.CONSTRUCTION),
    ]
    for n, (title, description, category) in enumerate(asks):
        unit = departments[(n * 7) % len(departments)]
        reporter = _person(unit, Role.REPORTER)
        if reporter is None:
            continue
        request = issue_services.issue_request_help(
            actor=reporter,
            requesting_unit=unit,
            title=title,
            description=description,
            category=category,
            project=unit.led_projects.order_by("id").first(),
            target_unit=departments[(n * 7 + 3) % len(departments)],
        )
        if n == 2:
            issue_services.issue_decline(
                issue=request, actor=supervisor, reason="属单位自身职责范围，请自行协调解决。"
            )
        asked = today - dt.timedelta(days=2 + n)
        Issue.objects.filter(pk=request.pk).update(raised_on=asked)
        request.events.update(created_at=F("created_at") - dt.timedelta(days=2 + n))
        issues.append(request)
    return issues
