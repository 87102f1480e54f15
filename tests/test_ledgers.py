"""Excel ledgers in and out (/ledgers/): real .xlsx files made here with openpyxl, messy as
county files are; the preview, the all-or-nothing commit, the round trip and the refusals."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from projects import ledger_import, ledger_parse, services
from projects.ledger_columns import PROGRESS_COLUMNS
from projects.models import (
    ImportBatch,
    ImportKind,
    ImportStatus,
    Leader,
    ProgressReport,
    Project,
    ProjectYearPlan,
    ReportStatus,
    ReportTally,
    Stage,
    StageChange,
)
from projects.tasks import prune_ledger_imports
from tests import factories
from tests.support.ledgers import HEADERS, ledger_row, simple_ledger, xlsx
from tracker import periods

# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def township(county):
    return factories.UnitFactory(name="城关镇", kind="township", parent=county)


@pytest.fixture
def leaders(county):
    return [
        Leader.objects.create(name="张县长", title="县长", unit=county, sort_order=1),
        Leader.objects.create(name="李副县长", title="副县长", unit=county, sort_order=2),
    ]


def preview(actor, unit, data: bytes, *, kind=ImportKind.PROJECTS, **options) -> ImportBatch:
    options.setdefault("year", 2026)
    return ledger_import.run_file(
        actor=actor, unit=unit, kind=kind, filename="台账.xlsx", data=data, **options
    )


def commit(batch: ImportBatch, actor, **options) -> ImportBatch:
    ledger_import.confirm(batch, actor=actor, skipped=options.pop("skipped", set()), **options)
    return ledger_import.commit(batch.pk)


def statuses(batch: ImportBatch) -> list[str]:
    return [row["status"] for row in batch.rows]


# ---------------------------------------------------------------------------------------------
# Reading what people type
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2亿", Decimal("12000.00")),
        ("1.2亿元", Decimal("12000.00")),
        ("3,500", Decimal("3500.00")),
        ("3500万元", Decimal("3500.00")),
        ("３５００万", Decimal("3500.00")),
        (" 1，200.5 ", Decimal("1200.50")),
        ("约800", Decimal("800.00")),
        ("50000元", Decimal("5.00")),
        (3500, Decimal("3500.00")),
        (1200.456, Decimal("1200.46")),
        ("—", None),
        (None, None),
    ],
)
def test_amounts(text, expected):
    assert ledger_parse.parse_amount(text) == expected


def test_amount_scaled_by_the_column_unit():
    assert ledger_parse.parse_amount(1.5, scale=ledger_parse.header_scale("总投资（亿元）")) == (
        Decimal("15000.00")
    )
    # A unit written in the cell wins over the column's.
    assert ledger_parse.parse_amount("300万", scale=Decimal(10000)) == Decimal("300.00")


@pytest.mark.parametrize("text", ["abc", "12万亿x", "-5", "1.2.3"])
def test_bad_amounts(text):
    with pytest.raises(ledger_parse.CellError):
        ledger_parse.parse_amount(text)


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("2024年3月", "start", dt.date(2024, 3, 1)),
        ("2024年3月", "end", dt.date(2024, 3, 31)),
        ("2024.3", "start", dt.date(2024, 3, 1)),
        ("2024.10", "end", dt.date(2024, 10, 31)),
        ("3月底", "start", dt.date(2026, 3, 31)),
        ("6月", "end", dt.date(2026, 6, 30)),
        ("2024-03-15", "start", dt.date(2024, 3, 15)),
        ("2024/3/5", "start", dt.date(2024, 3, 5)),
        ("2024年3月15日", "end", dt.date(2024, 3, 15)),
        ("２０２４年３月", "start", dt.date(2024, 3, 1)),
        ("20240315", "start", dt.date(2024, 3, 15)),
        ("2025年底", "end", dt.date(2025, 12, 31)),
        ("2025年", "start", dt.date(2025, 1, 1)),
        (45366, "start", dt.date(2024, 3, 15)),  # an Excel date serial
        ("45366", "start", dt.date(2024, 3, 15)),
        (dt.datetime(2024, 3, 15, tzinfo=dt.UTC), "start", dt.date(2024, 3, 15)),
        ("", "start", None),
    ],
)
def test_dates(text, role, expected):
    assert ledger_parse.parse_date(text, year=2026, role=role) == expected


@pytest.mark.parametrize("text", ["明年", "2024-13-01", "13月", "3月32日", "1800年"])
def test_bad_dates(text):
    with pytest.raises(ledger_parse.CellError):
        ledger_parse.parse_date(text, year=2026)


def test_full_width_text_and_spaces():
    assert ledger_parse.clean_text("\u3000城区　道路  改造 ") == "城区 道路 改造"
    assert ledger_parse.compact("交 通 运 输 局") == "交通运输局"
    assert ledger_parse.split_names("水利局、 城关镇，交通运输局") == [
        "水利局",
        "城关镇",
        "交通运输局",
    ]


# ---------------------------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------------------------


def test_template_has_the_county_layout_values_and_lists(client, reporter_a, township, leaders):
    client.force_login(reporter_a)
    response = client.get(reverse("ledger_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[2]]
    assert headers[:7] == [
        "序号",
        "项目名称",
        "项目代码",
        "建设性质",
        "行业类别",
        "建设内容及规模",
        "总投资(万元)",
    ]
    assert headers[7] == "2026年计划投资(万元)"
    assert headers[8:] == [
        "责任单位",
        "配合单位",
        "包联领导",
        "所在乡镇",
        "计划开工时间",
        "计划竣工时间",
        "项目业主",
        "当前阶段",
        "备注",
    ]
    values = workbook["可选值"]
    listed = {values.cell(row=1, column=c).value: c for c in range(1, values.max_column + 1)}
    categories = [values.cell(row=r, column=listed["行业类别"]).value for r in range(2, 13)]
    assert "交通" in categories and "水利" in categories
    townships = [values.cell(row=2, column=listed["所在乡镇"]).value]
    assert townships == ["城关镇"]
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert any("可选值" in (f or "") for f in formulas)


# ---------------------------------------------------------------------------------------------
# Importing a messy county ledger
# ---------------------------------------------------------------------------------------------


def messy_ledger() -> bytes:
    """A title line, a two-row header with merged group cells, odd amounts and dates,
    full-width text, a section heading, a total line and trailing empty rows."""
    top = [
        "序号",
        "项目名称",
        "项目\n代码",
        "建设性质",
        "行业类别",
        "建设内容及规模",
        "投资情况（万元）",
        None,
        "责任单位",
        "配合单位",
        "包联领导",
        "所在乡镇",
        "建设年限",
        None,
        "项目业主",
        "当前阶段",
        "备注",
    ]
    below = [None] * 6 + ["总投资", "2026年计划投资"] + [None] * 4 + ["计划开工", "计划竣工"]
    below += [None] * 3
    rows = [
        top,
        below,
        ["一、交通项目（2个）"],
        [
            "１",
            "城区　至园区公路",
            "ＪＴ－００１",
            "新建",
            "交通",
            "双向四车道 12 公里",
            "1.2亿",
            "3,500",
            "交 通 运 输 局",
            "水利局、城关镇",
            "张县长（县长）、李副县长",
            "城关镇",
            "2024年3月",
            "2025年底",
            "县交投公司",
            "在建",
            "续建项目",
        ],
        [
            2,
            "滨江路改造",
            None,
            "续建",
            "城市建设",
            "",
            "3500万元",
            45366,  # a number that is not a date: an amount
            "交通运输局",
            None,
            None,
            None,
            45366,  # an Excel date serial
            "3月底",
            None,
            "前期工作",
            None,
        ],
        [None, "合计", None, None, None, None, "15500", "3500"],
        [None] * 5,
        [None] * 5,
    ]
    return xlsx(
        rows, title="示范县2026年重点项目台账", merges=["A1:Q1", "G2:H2", "M2:N2", "A2:A3", "B2:B3"]
    )


def test_messy_ledger_preview_and_commit(reporter_a, unit_a, unit_b, township, leaders):
    batch = preview(reporter_a, unit_a, messy_ledger())
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert statuses(batch) == ["new", "new"]
    assert [row["row"] for row in batch.rows] == [5, 6]
    assert "2" in batch.message  # the heading and the total line were left out

    batch = commit(batch, reporter_a)
    assert batch.status == ImportStatus.DONE, batch.message
    assert batch.result["created"] == 2

    road = Project.objects.get(code="JT-001")
    assert road.name == "城区 至园区公路"
    assert road.build_type == "new"
    assert road.category == "transport"
    assert road.total_investment == Decimal("12000.00")
    assert road.lead_unit == unit_a
    assert set(road.cooperating_units.all()) == {unit_b, township}
    assert road.lead_leader == leaders[0]
    assert list(road.co_leaders.all()) == [leaders[1]]
    assert road.township == township
    assert road.owner == "县交投公司"
    assert road.stage == Stage.UNDER_CONSTRUCTION
    assert road.remarks == "续建项目"
    first_version = road.history.get()
    assert first_version.history_user == reporter_a
    assert {row.unit_id for row in first_version.cooperating_units.all()} == {
        unit_b.pk,
        township.pk,
    }
    assert [row.leader_id for row in first_version.co_leaders.all()] == [leaders[1].pk]
    registered = StageChange.objects.get(project=road)
    assert (registered.to_stage, registered.actor) == (Stage.UNDER_CONSTRUCTION, reporter_a)
    assert ProjectYearPlan.history.get(project_id=road.pk).history_user == reporter_a
    plan = ProjectYearPlan.objects.get(project=road, year=2026)
    assert plan.planned_investment == Decimal("3500.00")
    assert (plan.planned_start, plan.planned_completion) == (
        dt.date(2024, 3, 1),
        dt.date(2025, 12, 31),
    )

    street = Project.objects.get(name="滨江路改造")
    assert street.code == ""
    assert street.total_investment == Decimal("3500.00")
    assert street.category == "urban"
    assert street.stage == Stage.PREPARING
    street_plan = ProjectYearPlan.objects.get(project=street, year=2026)
    assert street_plan.planned_investment == Decimal("45366.00")
    assert street_plan.planned_start == dt.date(2024, 3, 15)
    assert street_plan.planned_completion == dt.date(2026, 3, 31)

    # The same file again changes nothing.
    again = preview(reporter_a, unit_a, messy_ledger())
    assert statuses(again) == ["unchanged", "unchanged"]


def test_corrected_file_updates_by_code_or_by_name_and_unit(reporter_a, unit_a, township):
    first = simple_ledger(
        [
            {"name": "物流园", "code": "WL-1", "category": "物流", "total_investment": 5000},
            {"name": "污水处理厂", "category": "生态环保", "total_investment": 800},
        ]
    )
    commit(preview(reporter_a, unit_a, first), reporter_a)
    park = Project.objects.get(code="WL-1")
    version = park.version

    corrected = simple_ledger(
        [
            {"name": "智慧物流园", "code": "WL-1", "category": "物流", "total_investment": "6,000"},
            {
                "name": "污水处理厂",
                "category": "生态环保",
                "total_investment": 800,
                "stage": "在建",
            },
        ]
    )
    batch = preview(reporter_a, unit_a, corrected)
    assert statuses(batch) == ["changed", "changed"]
    fields = {change["field"] for change in batch.rows[0]["changes"]}
    assert fields == {"项目名称", "总投资(万元)"}
    assert batch.rows[1]["changes"] == [{"field": "当前阶段", "old": "储备（入库）", "new": "在建"}]

    commit(batch, reporter_a)
    park.refresh_from_db()
    assert (park.name, park.total_investment) == ("智慧物流园", Decimal("6000.00"))
    assert park.version == version + 1
    plant = Project.objects.get(name="污水处理厂")
    assert plant.stage == Stage.UNDER_CONSTRUCTION
    assert StageChange.objects.filter(project=plant, to_stage=Stage.UNDER_CONSTRUCTION).exists()
    assert Project.objects.count() == 2


def test_row_errors_are_given_in_chinese(reporter_a, unit_a):
    data = simple_ledger(
        [
            {"name": "甲", "category": "交通", "lead_unit": "不存在局"},
            {"name": "乙", "category": "交通", "total_investment": "很多"},
            {"name": "丙", "category": "交通", "planned_start": "明年春天"},
            {"name": "丁", "category": "航天"},
            {"name": "戊"},
            {"name": "己", "category": "交通", "leaders": "王五"},
            {"name": "庚", "category": "交通", "township": "火星镇"},
            {
                "name": "辛",
                "category": "交通",
                "planned_start": "2026-05-01",
                "planned_completion": "2026-01-01",
            },
            {"name": "甲", "category": "交通"},
            {"name": "甲", "category": "交通"},
        ]
    )
    batch = preview(reporter_a, unit_a, data)
    errors = [" ".join(row["errors"]) for row in batch.rows]
    assert "未知单位“不存在局”" in errors[0]
    assert "“很多”不是金额" in errors[1]
    assert "总投资(万元)" in errors[1]
    assert "“明年春天”不是日期" in errors[2]
    assert "不是可选值" in errors[3] and "交通" in errors[3]
    assert "行业类别" in errors[4]
    assert "未知领导“王五”" in errors[5]
    assert "未知乡镇“火星镇”" in errors[6]
    assert "早于计划开工" in errors[7]
    assert errors[8] == ""
    assert "第11行" in errors[9]  # the same project as an earlier row
    assert statuses(batch).count("error") == 9


def test_scope_who_may_import_for_which_unit(reporter_a, reporter_b, unit_a, unit_b):
    data = simple_ledger([{"name": "甲", "category": "交通", "lead_unit": "水利局"}])
    with pytest.raises(ledger_import.PermissionDenied):
        preview(reporter_b, unit_a, data)
    batch = preview(reporter_a, unit_a, data)
    assert statuses(batch) == ["error"]
    assert "不在" in batch.rows[0]["errors"][0]
    factories.create_project(actor=reporter_b, lead_unit=unit_b, name="水库", code="SL-9")
    other = preview(reporter_a, unit_a, simple_ledger([{"name": "水库改", "code": "SL-9"}]))
    assert statuses(other) == ["error"]
    assert ledger_import.importable_units(reporter_a).get() == unit_a


def test_atomic_an_error_on_row_150_of_200_writes_nothing(reporter_a, unit_a):
    rows = [
        {"name": f"项目{i:03d}", "code": f"P{i:03d}", "category": "工业", "total_investment": i}
        for i in range(1, 201)
    ]
    rows[149]["total_investment"] = "一百五十万"
    batch = preview(reporter_a, unit_a, simple_ledger(rows))
    assert batch.counts["new"] == 199 and batch.counts["error"] == 1
    assert batch.rows[149]["status"] == "error"
    with pytest.raises(ledger_import.ValidationError, match="152"):
        ledger_import.confirm(batch, actor=reporter_a, skipped=set())
    assert not Project.objects.exists()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.PREVIEW

    # Left out on purpose, the others go in.
    done = commit(batch, reporter_a, skipped={152})
    assert done.status == ImportStatus.DONE
    assert Project.objects.count() == 199


def test_atomic_a_failure_while_writing_rolls_everything_back(reporter_a, unit_a):
    rows = [
        {"name": f"项目{i:03d}", "code": f"P{i:03d}", "category": "工业", "total_investment": 1}
        for i in range(1, 201)
    ]
    commit(preview(reporter_a, unit_a, simple_ledger(rows[140:160])), reporter_a)
    for row in rows:
        row["total_investment"] = 2
    batch = preview(reporter_a, unit_a, simple_ledger(rows))
    assert batch.counts == {"new": 180, "changed": 20, "unchanged": 0, "error": 0, "total": 200}
    # Someone edits the project of row 150 after the preview.
    victim = Project.objects.get(code="P150")
    services.project_update(project=victim, actor=reporter_a, owner="别人改过")
    before = {p.pk: (p.version, p.total_investment) for p in Project.objects.all()}

    done = commit(batch, reporter_a)
    assert done.status == ImportStatus.FAILED
    assert "第152行" in done.message and "没有导入任何数据" in done.message
    assert {p.pk: (p.version, p.total_investment) for p in Project.objects.all()} == before
    assert Project.objects.count() == 20

    # Checked again, the same file goes in.
    ledger_import.recheck(done)
    again = ledger_import.prepare(done.pk)
    assert commit(again, reporter_a).status == ImportStatus.DONE
    assert Project.objects.count() == 200
    assert Project.objects.get(code="P150").owner == "别人改过"


def test_nothing_is_written_without_confirmation(reporter_a, unit_a):
    batch = preview(reporter_a, unit_a, simple_ledger([{"name": "甲", "category": "交通"}]))
    assert statuses(batch) == ["new"]
    ledger_import.cancel(batch)
    assert not Project.objects.exists()
    with pytest.raises(ledger_import.ValidationError):
        ledger_import.confirm(batch, actor=reporter_a, skipped=set())


def test_old_uploads_and_previews_are_dropped_and_unconfirmed_imports_cancelled(
    client, settings, reporter_a, unit_a
):
    settings.TRACKER_LEDGER_KEEP_DAYS = 30
    data = simple_ledger([{"name": "甲", "category": "交通"}])
    waiting = preview(reporter_a, unit_a, data)
    done = commit(
        preview(reporter_a, unit_a, simple_ledger([{"name": "乙", "category": "交通"}])), reporter_a
    )
    recent = preview(reporter_a, unit_a, data)
    assert waiting.status == ImportStatus.PREVIEW and done.status == ImportStatus.DONE
    month_ago = timezone.now() - dt.timedelta(days=31)
    ImportBatch.objects.filter(pk__in=[waiting.pk, done.pk]).update(updated_at=month_ago)
    ImportBatch.objects.filter(pk=done.pk).update(rows=done.rows or [{"row": 4}])

    assert prune_ledger_imports.apply().get() == {"cancelled": 1, "cleared": 1}
    assert prune_ledger_imports.apply().get() == {"cancelled": 0, "cleared": 0}  # idempotent
    waiting.refresh_from_db()
    assert waiting.status == ImportStatus.CANCELLED
    assert waiting.content is None and waiting.rows == []
    with pytest.raises(ledger_import.ValidationError):  # it can no longer be confirmed
        ledger_import.confirm(waiting, actor=reporter_a, skipped=set())
    assert not Project.objects.filter(name="甲").exists()
    done.refresh_from_db()
    assert done.rows == [] and done.result["created"] == 1  # the record of what was done stays
    recent.refresh_from_db()
    assert recent.status == ImportStatus.PREVIEW and recent.content and recent.rows

    client.force_login(reporter_a)
    page = client.get(reverse("ledger_import_detail", args=[waiting.pk])).content.decode()
    assert "未在 30 天内确认，已取消。" in page


# ---------------------------------------------------------------------------------------------
# Round trip: export → import = no change
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def ledger_projects(reporter_a, unit_a, unit_b, township, leaders):
    road = factories.create_project(
        actor=reporter_a,
        lead_unit=unit_a,
        name="城区至园区公路",
        code="JT-001",
        build_type="new",
        description="双向四车道\n12公里",
        total_investment=Decimal("12000.50"),
        township=township,
        lead_leader=leaders[0],
        co_leaders=[leaders[1]],
        cooperating_units=[unit_b, township],
        owner="县交投公司",
        remarks="省重点",
    )
    services.year_plan_set(
        project=road,
        year=2026,
        actor=reporter_a,
        planned_investment=Decimal("3500"),
        planned_start=dt.date(2026, 3, 1),
        planned_completion=dt.date(2027, 6, 30),
    )
    bare = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="无代码项目", category="water"
    )
    return [road, bare]


def test_round_trip_project_ledger_is_all_unchanged(client, reporter_a, unit_a, ledger_projects):
    client.force_login(reporter_a)
    url = reverse("ledger_export", args=["projects"])
    response = client.get(url, {"unit": unit_a.pk, "year": 2026})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    road = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[2] == "JT-001")
    assert road[1] == "城区至园区公路"
    assert road[9] == "水利局、城关镇"
    assert road[10] == "张县长、李副县长"
    assert road[12].date() == dt.date(2026, 3, 1)
    batch = preview(reporter_a, unit_a, response.content, year=2026)
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert statuses(batch) == ["unchanged", "unchanged"], batch.rows

    # Exported with every visible project (no unit), still all unchanged.
    everything = client.get(url, {"year": 2026})
    assert set(statuses(preview(reporter_a, unit_a, everything.content))) == {"unchanged"}


def test_round_trip_progress_ledger_is_all_unchanged(client, reporter_a, unit_a, project_a):
    period = periods.parse("2026-10")
    services.report_save(
        project=project_a,
        period=period,
        actor=reporter_a,
        investment=Decimal("320.5"),
        physical_progress="路基完成60%",
        problems="征地滞后",
    )
    factories.create_project(actor=reporter_a, lead_unit=unit_a, name="未填报项目")
    client.force_login(reporter_a)
    response = client.get(
        reverse("ledger_export", args=["progress"]), {"unit": unit_a.pk, "period": "2026-10"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[2]] == [column.header for column in PROGRESS_COLUMNS]
    batch = preview(
        reporter_a, unit_a, response.content, kind=ImportKind.PROGRESS, period_key="2026-10"
    )
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert statuses(batch) == ["unchanged", "unchanged"]


# ---------------------------------------------------------------------------------------------
# Monthly progress
# ---------------------------------------------------------------------------------------------


def month_sheet(rows: list[list]) -> bytes:
    return xlsx(
        [["项目", "本月完成投资", "形象进度", "存在问题"], *rows], title="交通运输局10月进度"
    )


def test_progress_import_makes_drafts_that_follow_the_review(reporter_a, head_a, unit_a, project_a):
    other = factories.create_project(actor=reporter_a, lead_unit=unit_a, name="客运站", code="KY-1")
    data = month_sheet(
        [
            ["城区至园区公路改扩建", "1,200", "路面摊铺", "无"],
            ["ＫＹ－１", None, None, None],  # nothing reported
            ["客运站", "２００万元", "主体封顶", "资金缺口"],
            ["不存在的项目", 5, "", ""],
            ["城区至园区公路改扩建", "abc", "", ""],
        ]
    )
    batch = preview(reporter_a, unit_a, data, kind=ImportKind.PROGRESS, period_key="2026-10")
    assert statuses(batch) == ["new", "unchanged", "new", "error", "error"]
    assert "找不到" in batch.rows[3]["errors"][0]
    done = commit(batch, reporter_a, skip_errors=True)
    assert done.status == ImportStatus.DONE, done.message
    report = ProgressReport.objects.get(project=project_a, period_key="2026-10")
    assert report.status == ReportStatus.DRAFT
    assert (report.investment, report.physical_progress, report.problems) == (
        Decimal("1200.00"),
        "路面摊铺",
        "无",
    )
    assert ProgressReport.objects.get(project=other).investment == Decimal("200.00")

    services.report_submit(report=report, actor=reporter_a)
    services.report_approve(report=ProgressReport.objects.get(pk=report.pk), actor=head_a)
    changed = month_sheet([["城区至园区公路改扩建", 999, "", ""]])
    refused = preview(reporter_a, unit_a, changed, kind=ImportKind.PROGRESS, period_key="2026-10")
    assert statuses(refused) == ["error"]
    assert "已审核" in refused.rows[0]["errors"][0]


def test_imported_drafts_are_submitted_at_once_all_or_none(
    client, settings, reporter_a, reporter_b, unit_a, project_a
):
    settings.TRACKER_REPORT_CADENCE = "month"
    other = factories.create_project(actor=reporter_a, lead_unit=unit_a, name="客运站")
    data = month_sheet([["城区至园区公路改扩建", 120, "路面摊铺", ""], ["客运站", 80, "主体", ""]])
    batch = commit(
        preview(reporter_a, unit_a, data, kind=ImportKind.PROGRESS, period_key="2026-10"),
        reporter_a,
    )
    assert batch.status == ImportStatus.DONE, batch.message
    url = reverse("ledger_import_detail", args=[batch.pk])
    client.force_login(reporter_a)
    assert "提交 2 份填报" in client.get(url).content.decode()

    # Someone who may not report on these projects submits nothing at all.
    with pytest.raises(PermissionDenied):
        ledger_import.submit_drafts(batch, actor=reporter_b)
    assert set(ProgressReport.objects.values_list("status", flat=True)) == {ReportStatus.DRAFT}

    page = client.post(reverse("ledger_import_submit", args=[batch.pk]), follow=True)
    assert "已提交 2 份填报" in page.content.decode()
    reports = ProgressReport.objects.filter(project__in=[project_a, other], period_key="2026-10")
    assert {(r.status, r.submitted_by_id) for r in reports} == {
        (ReportStatus.SUBMITTED, reporter_a.pk)
    }
    assert all(r.first_submitted_at is not None for r in reports)
    tally = ReportTally.objects.get(unit=unit_a, period_key="2026-10")
    # Counted once submitted; submitted on 21 November, after October's deadline: late.
    assert (tally.investment, tally.on_time) == (Decimal(200), 0)

    page = client.post(reverse("ledger_import_submit", args=[batch.pk]), follow=True).content
    assert "没有待提交的草稿" in page.decode()
    assert "提交 2 份填报" not in page.decode()
    project_batch = preview(reporter_a, unit_a, simple_ledger([{"name": "甲", "category": "交通"}]))
    with pytest.raises(ValidationError):
        ledger_import.submit_drafts(project_batch, actor=reporter_a)


def test_progress_import_of_a_bundle_is_refused(reporter_a, unit_a, project_a):
    factories.create_project(actor=reporter_a, lead_unit=unit_a, name="子项目", parent=project_a)
    data = month_sheet([["城区至园区公路改扩建", 5, "", ""]])
    batch = preview(reporter_a, unit_a, data, kind=ImportKind.PROGRESS, period_key="2026-10")
    assert "打捆" in batch.rows[0]["errors"][0]


# ---------------------------------------------------------------------------------------------
# Refused files: a clear message, never a server error
# ---------------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _with_macros() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(simple_ledger([{"name": "甲", "category": "交通"}])))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/vbaProject.bin"] = b"\x00" * 64
    return _zip(members)


def _password_protected() -> bytes:
    # An encrypted .xlsx is an OLE2 compound file with an EncryptedPackage stream.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return header + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le")


def _formulas() -> bytes:
    return xlsx(
        [HEADERS, ledger_row(seq=1, name="甲", category="交通", total_investment="=100+200")]
    )


@pytest.mark.parametrize(
    ("filename", "make", "words"),
    [
        ("ledger.csv", lambda: "项目名称,总投资\n甲,1".encode(), "不是Excel文件"),
        ("ledger.xlsx", _password_protected, "密码"),
        ("old.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
        ("ledger.xlsm", _with_macros, "宏"),
        ("ledger.xlsx", _with_macros, "宏"),
        ("ledger.xlsx", _formulas, "公式"),
        ("ledger.xlsx", lambda: _zip({"hello.txt": b"hi"}), "不是Excel文件"),
        ("ledger.xlsx", lambda: b"PK\x03\x04broken", "损坏"),
        ("ledger.xlsx", lambda: xlsx([["说明"], ["没有表头"]]), "表头"),
    ],
)
def test_bad_files_are_refused_clearly(
    client,
    eager_tasks,
    django_capture_on_commit_callbacks,
    reporter_a,
    unit_a,
    filename,
    make,
    words,
):
    client.force_login(reporter_a)
    upload = io.BytesIO(make())
    upload.name = filename
    with django_capture_on_commit_callbacks(
        execute=True
    ):  # the check runs after the upload commits
        posted = client.post(
            reverse("ledger_upload", args=["projects"]),
            {"projects-unit": unit_a.pk, "projects-year": 2026, "projects-file": upload},
        )
    response = client.get(posted.url)
    assert response.status_code == 200
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    assert words in batch.message
    assert batch.message in response.content.decode()
    assert not Project.objects.exists()


def test_too_large_and_too_many_rows(client, eager_tasks, settings, reporter_a, unit_a):
    client.force_login(reporter_a)
    settings.TRACKER_LEDGER_MAX_ROWS = 5
    data = simple_ledger([{"name": f"项目{i}", "category": "交通"} for i in range(6)])
    batch = preview(reporter_a, unit_a, data)
    assert batch.status == ImportStatus.FAILED and "5" in batch.message and "行" in batch.message

    settings.TRACKER_LEDGER_MAX_BYTES = 2048
    upload = io.BytesIO(data)
    upload.name = "big.xlsx"
    response = client.post(
        reverse("ledger_upload", args=["projects"]),
        {"projects-unit": unit_a.pk, "projects-year": 2026, "projects-file": upload},
    )
    assert response.status_code == 400
    assert "MB" in response.content.decode()


def test_zip_bomb_is_refused(settings, reporter_a, unit_a):
    settings.TRACKER_LEDGER_MAX_UNCOMPRESSED = 100_000
    source = zipfile.ZipFile(io.BytesIO(simple_ledger([{"name": "甲", "category": "交通"}])))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/media/padding.bin"] = b"\x00" * 200_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    batch = preview(reporter_a, unit_a, buffer.getvalue())
    assert batch.status == ImportStatus.FAILED and "解压" in batch.message


# ---------------------------------------------------------------------------------------------
# The pages: upload, preview, progress, confirm
# ---------------------------------------------------------------------------------------------


def test_pages_upload_preview_confirm(
    client, eager_tasks, django_capture_on_commit_callbacks, reporter_a, unit_a
):
    client.force_login(reporter_a)
    index = client.get(reverse("ledger_index"))
    assert index.status_code == 200
    body = index.content.decode()
    for key in ("projects", "progress", "supervision", "rankings"):
        assert reverse("ledger_export", args=[key]) in body
    upload = io.BytesIO(
        simple_ledger([{"name": "甲", "category": "交通"}, {"name": "乙", "category": "航天"}])
    )
    upload.name = "县台账.xlsx"
    with django_capture_on_commit_callbacks(execute=True):  # the check runs after the commit
        response = client.post(
            reverse("ledger_upload", args=["projects"]),
            {"projects-unit": unit_a.pk, "projects-year": 2026, "projects-file": upload},
        )
    batch = ImportBatch.objects.get()
    assert response.url == reverse("ledger_import_detail", args=[batch.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "“航天”不是可选值" in text
    status = client.get(reverse("ledger_import_status", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert status["HX-Refresh"] == "true"

    confirm_url = reverse("ledger_import_confirm", args=[batch.pk])
    refused = client.post(confirm_url, follow=True)
    assert "有错误" in refused.content.decode()
    assert not Project.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(confirm_url, {"skip": ["4"]})
    assert client.get(done.url).status_code == 200
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
    assert list(Project.objects.values_list("name", flat=True)) == ["甲"]
    assert batch.content is None


def test_running_import_shows_a_polling_progress_bar(client, reporter_a, unit_a):
    # Not eager: the task waits for a worker, the page polls.
    batch = ledger_import.start(
        actor=reporter_a,
        unit=unit_a,
        kind=ImportKind.PROJECTS,
        filename="a.xlsx",
        data=simple_ledger([{"name": "甲", "category": "交通"}]),
        year=2026,
    )
    ledger_import.report_progress(batch.pk, 25, 100)
    client.force_login(reporter_a)
    page = client.get(reverse("ledger_import_detail", args=[batch.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert 'value="25"' in page
    assert "htmx.min.js" in page
    status = client.get(reverse("ledger_import_status", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in status


def test_other_users_cannot_see_an_import(client, reporter_a, reporter_b, unit_a):
    batch = preview(reporter_a, unit_a, simple_ledger([{"name": "甲", "category": "交通"}]))
    client.force_login(reporter_b)
    assert client.get(reverse("ledger_import_detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("ledger_import_confirm", args=[batch.pk])).status_code == 404


def test_leader_may_export_but_not_import(client, leader, project_a):
    client.force_login(leader)
    page = client.get(reverse("ledger_index")).content.decode()
    assert reverse("ledger_upload", args=["projects"]) not in page
    response = client.get(reverse("ledger_export", args=["projects"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet.cell(row=3, column=2).value == project_a.name


# ---------------------------------------------------------------------------------------------
# Supervision's ledgers on /ledgers/
# ---------------------------------------------------------------------------------------------


def test_supervision_and_ranking_ledgers(client, supervisor, county, unit_a, unit_b):
    from supervision.models import RankingEntry, RankingScheme, RankingSnapshot, SnapshotStatus

    client.force_login(supervisor)
    issues = client.get(reverse("ledger_export", args=["supervision"]))
    assert issues.status_code == 200
    assert issues["Content-Type"].startswith("application/vnd.openxmlformats")

    assert client.get(reverse("ledger_export", args=["rankings"])).status_code == 404
    scheme = RankingScheme.objects.create(
        name="项目建设综合排名", parent_unit=county, cadence="month", starts_on=dt.date(2026, 1, 1)
    )
    snapshot = RankingSnapshot.objects.create(
        scheme=scheme,
        period_key="2026-10",
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        status=SnapshotStatus.PUBLISHED,
        metrics=[{"key": "investment_rate", "weight": "1", "measure": "%"}],
        computed_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        published_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        published_by=supervisor,
    )
    RankingEntry.objects.create(
        snapshot=snapshot,
        unit=unit_a,
        values={"investment_rate": "85.50"},
        scores={"investment_rate": "100"},
        score=Decimal("100"),
        rank=1,
        previous_rank=2,
        movement=1,
    )
    RankingEntry.objects.create(
        snapshot=snapshot, unit=unit_b, values={}, scores={}, score=None, rank=None
    )
    page = client.get(reverse("ledger_index")).content.decode()
    assert "项目建设综合排名" in page
    response = client.get(reverse("ledger_export", args=["rankings"]), {"ranking": snapshot.pk})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    headers = [cell.value for cell in sheet[2]]
    assert headers[:2] == ["名次", "单位"]
    assert headers[-3:] == ["得分", "上期名次", "位次变化"]
    assert len(headers) == 6
    first = [cell.value for cell in sheet[3]]
    assert first[:2] == [1, unit_a.name]
    assert first[2] == pytest.approx(85.5)
    assert first[-2:] == [2, 1]


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def test_import_ledger_command(tmp_path, reporter_a, unit_a):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(simple_ledger([{"name": "甲", "category": "交通", "code": "X1"}]))
    out = io.StringIO()
    call_command(
        "import_ledger", str(path), "--unit", str(unit_a.pk), "--user", "reporter_a", stdout=out
    )
    assert "1 new" in out.getvalue()
    assert not Project.objects.exists()
    call_command(
        "import_ledger",
        str(path),
        "--unit",
        str(unit_a.pk),
        "--user",
        "reporter_a",
        "--commit",
        stdout=out,
    )
    assert Project.objects.get().code == "X1"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(CommandError, match="Excel"):
        call_command("import_ledger", str(bad), "--unit", str(unit_a.pk), "--user", "reporter_a")


def test_projects_never_imports_supervision():
    """The ledger registry keeps the dependency one way: supervision registers into projects."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "projects"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "supervision" for name in names):
                offenders.append(str(path.relative_to(root)))
    assert not offenders


def test_new_projects_are_scanned_for_alerts_after_commit(
    reporter_a, unit_a, monkeypatch, django_capture_on_commit_callbacks
):
    scanned = []
    monkeypatch.setattr(
        "supervision.alerts.scan_alerts", lambda projects=None, **kw: scanned.append(projects)
    )
    batch = preview(reporter_a, unit_a, simple_ledger([{"name": "甲", "category": "交通"}]))
    ledger_import.confirm(batch, actor=reporter_a, skipped=set())
    with django_capture_on_commit_callbacks(execute=True):
        ledger_import.commit(batch.pk)
    assert scanned == [{Project.objects.get().pk}]
