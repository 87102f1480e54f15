"""The demo county's inspections (督查检查), meetings (会议交办) and project notices
(亮红牌/限期通知).

Six inspections over the last five months (one 现场观摩 with scores, one 暗访) raising about ten
issues, four meetings (调度会, 推进会, 现场办公会, 专题议定) with attendance and eight decisions
assigned as issues, two red cards and two deadline notices (限期开工, one overdue).

Everything goes through the services (``supervision.inspections.services``, and
``supervision.issues.services`` to carry the older issues to rectified and closed), so rights,
timelines and history are real; then dates are moved back with ``queryset.update`` so that what
happened months ago carries the dates it happened on. It works on any county with projects: the
units and leaders it names are those of the projects it picks."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db.models import F

from projects.models import (
    STARTED_STAGES,
    Leader,
    Membership,
    Project,
    ProjectKind,
    Role,
    Stage,
    Unit,
    UnitKind,
)
from supervision.inspections import services as inspection_services
from supervision.issues import services as issue_services
from supervision.models import (
    Inspection,
    InspectionKind,
    Issue,
    IssueCategory,
    IssueEvent,
    Meeting,
    MeetingKind,
    NoticeKind,
    ProjectNotice,
)

C = IssueCategory

# (days ago, kind, title, projects visited, findings, [(issue title, category, requirement,
# days given, what happened: "closed", "rectified", "responded" or "")])
INSPECTIONS: list[tuple[int, str, str, int, str, list[tuple[str, str, str, int, str]]]] = [
    (
        150,
        InspectionKind.REGULAR,
        "一季度重点项目开复工情况定期督查",
        5,
        "督查组实地察看了5个在建项目。总体开复工情况良好，但部分项目节后返岗人员不足，"
        "个别项目安全文明施工措施落实不到位。",
        [
            (
                "{p}节后返岗人员不足，施工进度滞后",
                C.CONSTRUCTION,
                "增加施工班组，倒排工期追赶进度",
                30,
                "closed",
            ),
            (
                "{p}施工现场安全防护不到位",
                C.CONSTRUCTION,
                "立即完善临边防护和安全警示标志",
                15,
                "closed",
            ),
        ],
    ),
    (
        120,
        InspectionKind.SPECIAL,
        "重点项目征地拆迁专项督查",
        4,
        "征地拆迁总体按计划推进，但仍有部分项目存在未签约户和坟墓迁移未完成等问题，"
        "影响项目全面开工。",
        [
            (
                "{p}剩余7户拆迁户未签约",
                C.DEMOLITION,
                "逐户分析原因，月底前完成签约腾房",
                30,
                "closed",
            ),
            (
                "{p}红线范围内坟墓迁移未完成",
                C.LAND_ACQUISITION,
                "联系户主限期迁移",
                45,
                "responded",
            ),
        ],
    ),
    (
        90,
        InspectionKind.UNANNOUNCED,
        "重点项目建设情况暗访",
        3,
        "暗访组采取“四不两直”方式察看了3个项目：一个项目现场无人施工、塔吊停用，一个项目"
        "扬尘管控不到位，进度填报与现场形象进度不符。",
        [
            (
                "{p}现场无人施工，塔吊停用",
                C.CONSTRUCTION,
                "说明停工原因，制定复工计划",
                20,
                "responded",
            ),
            (
                "{p}扬尘管控不到位，裸土未覆盖",
                C.CONSTRUCTION,
                "立即覆盖裸土，落实洒水降尘",
                10,
                "closed",
            ),
        ],
    ),
    (
        60,
        InspectionKind.SITE_VISIT,
        "全县重点项目现场观摩拉练",
        9,
        "观摩组按“看现场、听汇报、评打分”方式对9个项目进行了观摩评比。项目建设整体提速，"
        "工业项目投资强度较高，个别项目配套设施建设滞后。",
        [
            (
                "{p}配套道路建设滞后",
                C.CONSTRUCTION,
                "与主体工程同步推进配套道路建设",
                45,
                "rectified",
            ),
        ],
    ),
    (
        35,
        InspectionKind.SPECIAL,
        "专项债项目资金支付进度专项督查",
        3,
        "部分专项债项目资金支付进度慢于工程进度，存在资金沉淀现象。",
        [
            (
                "{p}专项债资金支付率不足40%",
                C.FUNDING,
                "按工程进度及时拨付，月底前支付率达到70%",
                30,
                "responded",
            ),
            ("{p}工程款结算资料不齐", C.FUNDING, "补齐计量签证资料，加快结算", 20, ""),
        ],
    ),
    (
        10,
        InspectionKind.REGULAR,
        "四季度重点项目推进情况定期督查",
        4,
        "四季度是全年目标冲刺的关键期，督查发现少数项目年度投资完成率偏低。",
        [
            ("{p}年度投资完成率偏低", C.OTHER, "制定冲刺方案，确保完成年度投资计划", 30, ""),
        ],
    ),
]

# (days ago, kind, title, location, leader index, agenda size, absent count, minutes,
#  [(decision, category, requirement, days given, what happened)])
MEETINGS: list[
    tuple[int, str, str, str, int, int, int, str, list[tuple[str, str, str, int, str]]]
] = [
    (
        100,
        MeetingKind.DISPATCH,
        "全县重点项目建设第三次调度会",
        "县政府三楼会议室",
        1,
        5,
        1,
        "会议听取了各责任单位重点项目推进情况汇报，逐个研究了项目推进中存在的问题。会议强调，"
        "各单位要对标年度目标，倒排工期、挂图作战，确保项目按期推进。",
        [
            (
                "协调解决{p}施工用电问题",
                C.OTHER,
                "供电部门配合，两周内完成临时用电接入",
                20,
                "closed",
            ),
            ("加快{p}施工图审查", C.PLANNING, "月底前完成施工图审查", 30, "closed"),
        ],
    ),
    (
        70,
        MeetingKind.PROMOTION,
        "产业园区重点项目推进会",
        "经开区管委会会议室",
        2,
        4,
        1,
        "会议研究了园区标准厂房、供水供电等配套设施建设问题，明确了各项工作的责任单位和完成时限。",
        [
            ("完成{p}用地报批", C.LAND_USE, "加快组卷报批，争取早日获批", 45, "responded"),
            ("落实{p}入园企业设备进场", C.OTHER, "对接企业，确定设备进场时间表", 30, "closed"),
        ],
    ),
    (
        40,
        MeetingKind.ON_SITE,
        "{p}现场办公会",
        "项目建设现场",
        3,
        1,
        0,
        "县领导带领相关部门到项目现场办公，现场协调解决了管线迁改、临时用地等问题。",
        [
            ("完成{p}沿线管线迁改", C.PIPELINES, "制定迁改方案，与施工同步推进", 30, "responded"),
            ("办理{p}临时用地手续", C.LAND_USE, "两周内完成临时用地审批", 15, "rectified"),
        ],
    ),
    (
        15,
        MeetingKind.SPECIAL,
        "城市更新项目专题议定会",
        "县政府五楼会议室",
        6,
        3,
        1,
        "会议专题研究了老旧小区改造和城市更新项目推进中的资金筹措和居民动员问题。",
        [
            ("制定{p}资金筹措方案", C.FUNDING, "提出专项债、上级补助和社会资本组合方案", 30, ""),
            ("做好{p}居民动员工作", C.OTHER, "入户宣传，征求居民意见", 20, "responded"),
        ],
    ),
]

# Meetings whose agenda is drawn from projects of these categories, when the county has them.
AGENDA_CATEGORIES = {
    MeetingKind.PROMOTION: {"industry", "logistics", "energy"},
    MeetingKind.SPECIAL: {"urban", "livelihood"},
}

SCORE_COMMENTS = [
    "形象进度快，现场管理规范",
    "投资强度大，质量管控到位",
    "进度符合序时，文明施工较好",
    "配套设施滞后，需加快推进",
    "现场组织有序，但进度偏慢",
]
RESPONSE = "已制定整改方案，明确专人负责，正在推进。"
RECTIFIED = "已整改到位，附整改前后照片。"


def _person(unit: Unit, *roles: str):
    membership = (
        Membership.objects.filter(unit=unit, role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("role", "id")
        .first()
    )
    return membership.user if membership else None


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _progress(issue: Issue, outcome: str, *, supervisor) -> None:
    """Carry an issue along through the ledger's services, as its unit and the office would."""
    reporter = _person(issue.unit, Role.REPORTER, Role.UNIT_HEAD)
    if not outcome or reporter is None:
        return
    issue_services.issue_respond(issue=issue, actor=reporter, text=RESPONSE)
    if outcome in ("rectified", "closed"):
        issue_services.issue_mark_rectified(issue=issue, actor=reporter, text=RECTIFIED)
    if outcome == "closed":
        issue_services.issue_close(
            issue=issue, actor=supervisor, note="经核查，整改到位，同意销号。"
        )


def _backdate_issue(issue: Issue, raised: dt.date, deadline: dt.date, today: dt.date) -> None:
    """Move the issue and its timeline to when they happened: raised on ``raised``, each later
    step spread over the days to its deadline (or to yesterday), in their order."""
    issue.refresh_from_db()
    events = list(issue.events.order_by("created_at", "id"))
    last_day = max(raised, min(deadline, today - dt.timedelta(days=1)))
    span = (last_day - raised).days
    for n, event in enumerate(events):
        offset = 0 if n == 0 else max(1, span * n // max(1, len(events) - 1))
        event.created_at = _at(raised + dt.timedelta(days=offset), 9 + n % 8)
        if event.kind == "raised":
            event.deadline = deadline
    IssueEvent.objects.bulk_update(events, ["created_at", "deadline"])
    last = events[-1].created_at
    Issue.objects.filter(pk=issue.pk).update(
        raised_on=raised,
        deadline=deadline,
        original_deadline=deadline,
        created_at=_at(raised),
        resolved_at=last if issue.resolved_at else None,
        closed_at=last if issue.closed_at else None,
    )


def _raise(
    rows: list[tuple[str, str, str, int, str]],
    projects: list[Project],
    *,
    raise_batch,
    held_on: dt.date,
    today: dt.date,
    supervisor,
) -> list[Issue]:
    """One batch through the service, each issue carried along and dated from ``held_on``."""
    specs = []
    for n, (title, category, requirement, _days, _outcome) in enumerate(rows):
        project = projects[n % len(projects)]
        specs.append(
            {
                "title": title.format(p=project.name)[:200],
                "category": category,
                "requirement": requirement,
                "unit": project.lead_unit,
                "project": project,
                "deadline": today + dt.timedelta(days=30),
            }
        )
    issues = raise_batch(specs)
    raised_on = min(today, held_on + dt.timedelta(days=1))
    for issue, (_t, _c, _r, days_given, outcome) in zip(issues, rows, strict=True):
        _progress(issue, outcome, supervisor=supervisor)
        _backdate_issue(issue, raised_on, raised_on + dt.timedelta(days=days_given), today)
    return issues


def _backdate(model, pk: int, day: dt.date) -> None:
    model.objects.filter(pk=pk).update(created_at=_at(day, 17), updated_at=_at(day, 17))


def _pick(pool: list[Project], count: int, used: set[int], rng: random.Random) -> list[Project]:
    """``count`` projects, those not picked yet first, in a stable order."""
    fresh = [p for p in pool if p.pk not in used] or pool
    chosen = rng.sample(fresh, min(count, len(fresh)))
    if len(chosen) < count:
        chosen += [p for p in pool if p not in chosen][: count - len(chosen)]
    used.update(p.pk for p in chosen)
    return sorted(chosen, key=lambda p: p.pk)


def seed_inspections_and_meetings(*, today: dt.date, county: Unit, supervisor) -> dict[str, Any]:
    """Inspections, meetings and notices of the demo county, as months of the office's work.

    Returns ``{"inspections": [...], "meetings": [...], "issues": [...], "notices": [...]}``.
    """
    rng = random.Random(f"meetings-{today.isoformat()}")  # noqa: S311 - demo data, not secrets
    projects = list(
        Project.objects.in_unit_subtree(county)
        .filter(parent__isnull=True, kind=ProjectKind.PROJECT)
        .select_related("lead_unit", "lead_leader")
        .order_by("id")
    )
    if not projects:
        return {"inspections": [], "meetings": [], "issues": [], "notices": []}
    building = [p for p in projects if p.stage in STARTED_STAGES] or projects
    leaders = list(Leader.objects.filter(unit=county, is_active=True).order_by("sort_order", "id"))
    others = list(
        Unit.objects.filter(
            parent=county, is_active=True, kind__in=[UnitKind.DEPARTMENT, UnitKind.ZONE]
        ).order_by("sort_order", "id")
    )
    inspectors = supervisor.get_full_name() or supervisor.username
    result: dict[str, list] = {"inspections": [], "meetings": [], "issues": [], "notices": []}

    used: set[int] = set()
    for ago, kind, title, size, findings, rows in INSPECTIONS:
        held_on = today - dt.timedelta(days=ago)
        visited = _pick(building, size, used, rng)
        inspection = inspection_services.inspection_create(
            actor=supervisor,
            title=title,
            kind=kind,
            held_on=held_on,
            unit=county,
            inspectors=f"{inspectors}、县重点项目办工作人员",
            findings=findings,
            projects=visited,
            units_visited=sorted({p.lead_unit for p in visited}, key=lambda u: u.path),
        )
        if kind == InspectionKind.SITE_VISIT:
            inspection_services.inspection_set_scores(
                inspection=inspection,
                actor=supervisor,
                scores=[
                    {
                        "project": project,
                        "score": Decimal(rng.randint(700, 980)) / 10,
                        "comment": rng.choice(SCORE_COMMENTS),
                    }
                    for project in visited
                ],
            )
        issues = _raise(
            rows,
            visited,
            raise_batch=lambda specs, i=inspection: inspection_services.inspection_raise_issues(
                inspection=i, actor=supervisor, issues=specs
            ),
            held_on=held_on,
            today=today,
            supervisor=supervisor,
        )
        _backdate(Inspection, inspection.pk, held_on)
        result["inspections"].append(inspection)
        result["issues"] += issues

    used = set()
    for ago, kind, title, location, leader_at, size, absent, minutes, rows in MEETINGS:
        held_on = today - dt.timedelta(days=ago)
        themed = [p for p in building if p.category in AGENDA_CATEGORIES.get(kind, ())]
        agenda = _pick(themed if len(themed) >= size else building, size, used, rng)
        concerned = sorted({p.lead_unit for p in agenda}, key=lambda u: u.path)
        extra = [u for u in others if u not in concerned]
        invited = concerned + rng.sample(extra, min(len(extra), 4))
        # Absent: an invited department first, else (a small county) a unit concerned, never
        # the first one, whose project leads the agenda.
        candidates = [u for u in invited[::-1] if u not in concerned] + concerned[:0:-1]
        absentees = candidates[:absent]
        meeting = inspection_services.meeting_create(
            actor=supervisor,
            title=title.format(p=agenda[0].name),
            kind=kind,
            held_on=held_on,
            unit=county,
            host=leaders[leader_at] if leader_at < len(leaders) else None,
            location=location,
            attendees=[u for u in invited if u not in absentees],
            absentees=absentees,
            attendee_names="县委办、县政府办相关负责同志",
            projects=agenda,
            minutes=minutes,
        )
        issues = _raise(
            rows,
            agenda,
            raise_batch=lambda specs, m=meeting: inspection_services.meeting_record_decisions(
                meeting=m, actor=supervisor, decisions=specs
            ),
            held_on=held_on,
            today=today,
            supervisor=supervisor,
        )
        _backdate(Meeting, meeting.pk, held_on)
        result["meetings"].append(meeting)
        result["issues"] += issues

    result["notices"] = _seed_notices(projects, today=today, supervisor=supervisor, rng=rng)
    return result


# (days ago issued, days given, kind, requirement, consequence)
NOTICES = [
    (
        45,
        60,
        NoticeKind.RED_CARD,
        "连续三期未完成序时进度，年度投资完成率不足30%，亮红牌督办。须制定赶工方案，"
        "两个月内投资完成率达到序时进度。",
        "",
    ),
    (
        20,
        45,
        NoticeKind.RED_CARD,
        "停工超过两个月未提出复工计划，亮红牌督办。须于限期内全面复工。",
        "",
    ),
    (
        75,
        70,
        NoticeKind.DEADLINE,
        "限期开工：须在期限内完成施工许可并开工建设。",
        "逾期取消项目，调出县级重点项目库",
    ),
    (
        25,
        60,
        NoticeKind.DEADLINE,
        "限期开工：须在期限内完成招标并进场施工。",
        "逾期取消项目，收回项目用地",
    ),
]


def _seed_notices(
    projects: list[Project], *, today: dt.date, supervisor, rng: random.Random
) -> list[ProjectNotice]:
    red_pool = [p for p in projects if p.stage == Stage.UNDER_CONSTRUCTION and not p.red_card]
    waiting = [p for p in projects if p.stage in (Stage.RESERVE, Stage.PREPARING, Stage.SIGNED)]
    pools = {
        NoticeKind.RED_CARD: red_pool or projects,
        NoticeKind.DEADLINE: waiting or projects,
    }
    notices = []
    taken: set[int] = set()
    for ago, given, kind, requirement, consequence in NOTICES:
        pool = [p for p in pools[kind] if p.pk not in taken] or pools[kind]
        project = rng.choice(pool)
        taken.add(project.pk)
        notice = inspection_services.notice_issue(
            project=project,
            actor=supervisor,
            kind=kind,
            requirement=requirement,
            deadline=today + dt.timedelta(days=given),
            consequence=consequence,
        )
        issued = today - dt.timedelta(days=ago)
        # One deadline notice is past its date and still in force: an overdue notice.
        ProjectNotice.objects.filter(pk=notice.pk).update(
            issued_on=issued,
            deadline=F("deadline") - dt.timedelta(days=ago),
            created_at=_at(issued, 16),
            updated_at=_at(issued, 16),
        )
        notice.refresh_from_db()
        notices.append(notice)
    return notices
