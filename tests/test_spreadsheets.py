"""Spreadsheet safety: text that Excel would take for a formula (= + - @ tab CR first) leaves the
platform as quoted text in every .xlsx export, numbers stay numbers, one writer builds every
workbook, and a ledger exported and imported again comes back unchanged.

Every file is read again with openpyxl (not in read-only mode, so each cell's stored type is
seen), as a user's Excel would open it."""

from __future__ import annotations

import ast
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from projects import ledger_import
from projects import services as project_services
from projects.models import ImportKind, ImportStatus, Project, Role, Unit
from supervision import rankings
from supervision.alerts import update_lights
from supervision.models import Issue
from tests import factories
from tests.factories import User
from tests.support.files import download_name
from tests.support.ledgers import HEADERS, ledger_row, xlsx
from tests.support.worlds import NOW, built_once
from tracker import periods, spreadsheets

# The world is built once for the module: under pytest-xdist the module runs on one worker.
pytestmark = pytest.mark.xdist_group("spreadsheets")

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ROOT = Path(__file__).resolve().parent.parent


def hostile(trigger: str, label: str) -> str:
    """A name an attacker (or an unlucky clerk) might give: a formula once a trigger starts it."""
    return f'{trigger}HYPERLINK("http://evil.example","{label}")'


def cells(content: bytes) -> list[tuple[str, str, object, str]]:
    """Every cell of every sheet: (sheet, coordinate, value, stored type)."""
    book = load_workbook(io.BytesIO(content))
    return [
        (sheet.title, cell.coordinate, cell.value, cell.data_type)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def assert_no_formula_leaves(content: bytes, texts: list[str]) -> None:
    """No cell is a formula or text a spreadsheet would run, and each of ``texts`` is there,
    quoted, as a string cell."""
    found = cells(content)
    live = [(s, c, v) for s, c, v, kind in found if kind == "f"]
    assert not live, live
    runnable = [(s, c, v) for s, c, v, _k in found if isinstance(v, str) and v[:1] in TRIGGERS]
    assert not runnable, runnable
    strings = [v for _s, _c, v, kind in found if kind == "s"]
    for text in texts:
        assert any(v.startswith("'" + text) for v in strings), repr(text)


# ---------------------------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_text_starting_with_a_trigger_is_written_quoted_as_text(trigger):
    book = spreadsheets.Spreadsheet()
    sheet = book.sheet("表", [spreadsheets.Column("名称", 20), spreadsheets.Column("金额")])
    sheet.heading(hostile(trigger, "标题"))
    sheet.header()
    sheet.row([hostile(trigger, "项目"), Decimal("-3.50")])
    found = {coordinate: (value, kind) for _s, coordinate, value, kind in cells(book.content())}
    assert found["A1"] == ("'" + hostile(trigger, "标题"), "s")
    assert found["A3"] == ("'" + hostile(trigger, "项目"), "s")
    assert found["B3"] == (-3.5, "n")


def test_numbers_dates_and_booleans_stay_what_they_are():
    book = spreadsheets.Spreadsheet()
    sheet = book.sheet("表", [spreadsheets.Column("数", number_format=spreadsheets.MONEY)])
    aware = NOW.astimezone(dt.UTC)
    sheet.row(
        [-5, Decimal("-1200.50"), 0.25, dt.date(2026, 3, 1), aware, True, None, gettext_lazy("No.")]
    )
    sheet.row(["-5", "+86 851", "@张三", "'已加引号", "普通文字", ""])
    found = {coordinate: (value, kind) for _s, coordinate, value, kind in cells(book.content())}
    assert found["A1"] == (-5, "n")
    assert found["B1"] == (-1200.5, "n")
    assert found["C1"] == (0.25, "n")
    assert (found["D1"][0].date(), found["D1"][1]) == (dt.date(2026, 3, 1), "d")
    # Excel has no time zones: an aware time is written as the county's wall-clock time.
    assert found["E1"] == (NOW.replace(tzinfo=None), "d")
    assert found["F1"] == (True, "b")
    assert "G1" not in found
    assert found["H1"] == (str(gettext_lazy("No.")), "s")
    assert found["A2"] == ("'-5", "s")  # text that looks like a number is text
    assert found["B2"] == ("'+86 851", "s")
    assert found["C2"] == ("'@张三", "s")
    assert found["D2"] == ("'已加引号", "s")  # an apostrophe before anything else is left
    assert found["E2"] == ("普通文字", "s")


def test_cells_put_into_a_sheet_directly_are_neutralised_when_saved():
    book = spreadsheets.Spreadsheet()
    sheet = book.sheet("表")
    sheet.worksheet.append(["=1+2", "-3", "@SUM(A1)", -3])
    sheet.worksheet["A2"] = '=HYPERLINK("http://evil.example")'
    first = book.content()
    found = {coordinate: (value, kind) for _s, coordinate, value, kind in cells(first)}
    assert found["A1"] == ("'=1+2", "s")
    assert found["B1"] == ("'-3", "s")
    assert found["C1"] == ("'@SUM(A1)", "s")
    assert found["D1"] == (-3, "n")
    assert found["A2"] == ('\'=HYPERLINK("http://evil.example")', "s")
    assert cells(book.content()) == cells(first)  # saving twice quotes nothing twice


def test_characters_an_xlsx_cannot_hold_are_dropped_not_a_server_error():
    book = spreadsheets.Spreadsheet()
    book.sheet("表").row(["城区\x01公路\x1f", "\x02=1+2"])
    values = [value for _s, _c, value, _k in cells(book.content())]
    assert values == ["城区公路", "'=1+2"]


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example")',
        "-测试",
        "+1",
        "@A1",
        "\t缩进",
        "\r回车",
        "'=已有一个引号",
        "''-两个引号",
        "'普通引号",
        "普通文字",
        "=",
        "-",
        "",
    ],
)
def test_unquote_undoes_exactly_what_the_writer_added(text):
    stored = spreadsheets.neutralise(text)
    assert stored[:1] not in TRIGGERS
    assert spreadsheets.unquote(stored) == text


def test_a_chinese_file_name_reaches_the_browser_intact():
    book = spreadsheets.Spreadsheet()
    book.sheet("表").row(["甲"])
    response = book.response("重点项目台账 2026/11.xlsx")
    assert response["Content-Type"] == spreadsheets.XLSX
    assert download_name(response) == "重点项目台账 2026/11.xlsx"
    assert download_name(spreadsheets.attachment(b"x", "ledger.docx", "text/plain")) == (
        "ledger.docx"
    )


def _workbook_instantiations(path: Path) -> list[int]:  # noqa: C901
    """Lines of ``path`` that make an openpyxl Workbook (imported under any name)."""
    source = path.read_text()
    if "Workbook" not in source:
        return []  # parsing every module would take a second
    tree = ast.parse(source)
    modules: set[str] = set()  # names bound to openpyxl or one of its modules
    classes: set[str] = set()  # names bound to openpyxl's Workbook class
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "openpyxl":
                    modules.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openpyxl"):
            for alias in node.names:
                if alias.name == "Workbook":
                    classes.add(alias.asname or alias.name)
                elif alias.name in ("workbook", "openpyxl"):
                    modules.add(alias.asname or alias.name)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in classes:
            lines.append(node.lineno)
        elif isinstance(function, ast.Attribute) and function.attr == "Workbook":
            base = function.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                lines.append(node.lineno)
    return lines


def test_one_writer_makes_every_workbook():
    """Exports go through tracker.spreadsheets, so that quoting formulas holds everywhere."""
    allowed = {
        Path("tracker/spreadsheets.py"),
        # Builds the benchmark's input file, never a download.
        Path("projects/management/commands/bench_ledger_import.py"),
    }
    offenders = {}
    for package in ("projects", "supervision", "tracker"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if relative not in allowed and (lines := _workbook_instantiations(path)):
                offenders[str(relative)] = lines
    assert not offenders
    # The check itself sees the writer's and the benchmark's.
    assert _workbook_instantiations(ROOT / "tracker/spreadsheets.py")
    assert _workbook_instantiations(ROOT / "projects/management/commands/bench_ledger_import.py")


def test_the_writer_imports_neither_app():
    """It is shared core: both apps use it, it uses neither."""
    imported = set()
    for node in ast.walk(ast.parse((ROOT / "tracker/spreadsheets.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "openpyxl" in imported
    assert not imported & {"projects", "supervision"}


# ---------------------------------------------------------------------------------------------
# Every export, with names that start with each trigger
# ---------------------------------------------------------------------------------------------


def _build_world() -> dict:
    """A county whose six departments, townships, projects (names and codes) and issues each
    start with one of the triggers; reports for October 2026, red cards, overdue issues and a
    published ranking, so that every export has something of each to write."""
    today = dt.date(2026, 11, 21)
    october = periods.parse("2026-10")
    county = factories.UnitFactory(
        name="示范县", kind="county", parent=factories.UnitFactory(name="示范市", kind="city")
    )
    supervisor = factories.member(county, Role.SUPERVISOR, username="supervisor")
    reporter = factories.member(county, Role.REPORTER, username="county_reporter")
    texts: dict[str, list[str]] = {"unit": [], "township": [], "project": [], "code": []}
    texts["issue"] = []
    projects = []
    for index, trigger in enumerate(TRIGGERS, start=1):
        unit = factories.UnitFactory(
            name=hostile(trigger, f"单位{index}"), kind="department", parent=county
        )
        township = factories.UnitFactory(
            name=hostile(trigger, f"乡镇{index}"), kind="township", parent=county
        )
        project = factories.create_project(
            actor=reporter,
            lead_unit=unit,
            township=township,
            name=hostile(trigger, f"项目{index}"),
            code=f"{trigger}JT-{index}",
        )
        project_services.year_plan_set(
            project=project, year=2026, actor=reporter, planned_investment=Decimal(1000)
        )
        report = project_services.report_save(
            project=project,
            period=october,
            actor=reporter,
            investment=Decimal(100 * index),
            problems=hostile(trigger, "问题描述"),
        )
        project_services.report_submit(report=report, actor=reporter)
        project_services.project_set_red_card(
            project=project, actor=supervisor, red_card=True, reason=hostile(trigger, "红牌")
        )
        issue = factories.IssueFactory(
            actor=supervisor,
            unit=unit,
            project=project,
            title=hostile(trigger, f"问题{index}"),
            category="other",
        )
        # The service trims titles; a title as another path may have stored it, tab and all.
        issue.title = hostile(trigger, f"问题{index}")
        Issue.objects.filter(pk=issue.pk).update(
            title=issue.title, deadline=today - dt.timedelta(days=index)
        )
        projects.append(project)
        texts["unit"].append(unit.name)
        texts["township"].append(township.name)
        texts["project"].append(project.name)
        texts["code"].append(project.code)
        texts["issue"].append(issue.title)
    update_lights([project.pk for project in projects])
    scheme = factories.RankingSchemeFactory(parent_unit=county)
    snapshot = rankings.ranking_compute(scheme=scheme, period=october)
    snapshot = rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    return {
        "county": county.pk,
        "snapshot": snapshot.pk,
        "texts": texts,
        "supervisor": supervisor.pk,
        "reporter": reporter.pk,
    }


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    """Built once for the module's tests: about 2 s (six projects with plans, reports, red cards
    and issues, written through the services, and a ranking computed and published)."""
    with built_once(django_db_blocker):
        yield _build_world()


@pytest.fixture
def world(_world, db, today, client):
    """The module's world, a supervisor logged in; each test runs in a savepoint of it."""
    client.force_login(User.objects.get(pk=_world["supervisor"]))
    return _world


# endpoint → (URL, query, which names it must show)
EXPORTS = {
    "project list": ("/projects/export.xlsx", {}, ("project", "code", "unit", "township")),
    "project ledger": (
        "/ledgers/export/projects/",
        {"year": 2026},
        ("project", "code", "unit", "township"),
    ),
    "project ledger template": ("/ledgers/template/projects.xlsx", {}, ("unit", "township")),
    "progress ledger": (
        "/ledgers/export/progress/",
        {"period": "2026-10"},
        ("project", "code", "unit"),
    ),
    "supervision ledger": ("/ledgers/export/supervision/", {}, ("issue", "project", "unit")),
    "issue list export": ("/supervision/issues/export/", {}, ("issue", "project", "unit")),
    "ranking ledger": ("/ledgers/export/rankings/", {}, ("unit",)),
    "bulletin": ("/rankings/{snapshot}/bulletin.xlsx", {}, ("unit", "project", "issue")),
    "dashboard": ("/dashboard/export.xlsx", {"date": "2026-11-21"}, ("township",)),
}


@pytest.mark.parametrize("export", list(EXPORTS))
def test_every_export_writes_names_starting_with_a_trigger_as_quoted_text(client, world, export):
    url, query, kinds = EXPORTS[export]
    response = client.get(url.format(snapshot=world["snapshot"]), query)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == spreadsheets.XLSX
    assert download_name(response).endswith(".xlsx")
    texts = [text for kind in kinds for text in world["texts"][kind]]
    assert len(texts) == len(kinds) * len(TRIGGERS)
    assert_no_formula_leaves(response.content, texts)


def test_the_project_list_export_keeps_its_chinese_file_name_and_numbers(client, world):
    response = client.get("/projects/export.xlsx")
    assert download_name(response) == "重点项目-20261121-1000.xlsx"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=3))
    assert len(rows) == len(TRIGGERS)
    for row in rows:
        assert row[1].value.startswith("'") and row[1].data_type == "s"  # the code
        assert row[17].data_type == "n" and row[17].number_format == spreadsheets.MONEY


# ---------------------------------------------------------------------------------------------
# Imports: formulas refused, the writer's quote removed
# ---------------------------------------------------------------------------------------------


def _preview(world, data: bytes, **options):
    reporter = User.objects.get(pk=world["reporter"])
    options.setdefault("kind", ImportKind.PROJECTS)
    if options["kind"] == ImportKind.PROJECTS:
        options.setdefault("year", 2026)
    return ledger_import.run_file(
        actor=reporter,
        unit=Unit.objects.get(pk=world["county"]),
        filename="台账.xlsx",
        data=data,
        **options,
    )


def test_exported_project_ledger_imports_unchanged_with_its_names_intact(client, world):
    response = client.get("/ledgers/export/projects/", {"year": 2026})
    batch = _preview(world, response.content)
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert [row["status"] for row in batch.rows] == ["unchanged"] * len(TRIGGERS), batch.rows
    # "\t…" and "\r…" names are read with their ends trimmed, and compare equal.
    names = {row["name"] for row in batch.rows}
    assert names == {name.strip() for name in world["texts"]["project"]}
    assert Project.objects.filter(name__in=world["texts"]["project"]).count() == len(TRIGGERS)


def test_exported_progress_ledger_imports_unchanged(client, world):
    response = client.get("/ledgers/export/progress/", {"period": "2026-10"})
    batch = _preview(world, response.content, kind=ImportKind.PROGRESS, period_key="2026-10")
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert [row["status"] for row in batch.rows] == ["unchanged"] * len(TRIGGERS), batch.rows


def test_a_quoted_name_imports_as_the_name_and_a_formula_is_still_refused(world):
    quoted = xlsx(
        [
            HEADERS,
            ledger_row(seq=1, name='\'=HYPERLINK("http://evil.example")', category="交通"),
            ledger_row(seq=2, name="'-测试", category="交通"),
            ledger_row(seq=3, name="'普通引号", category="交通"),
        ]
    )
    batch = _preview(world, quoted)
    assert batch.status == ImportStatus.PREVIEW, batch.message
    assert [row["name"] for row in batch.rows] == [
        '=HYPERLINK("http://evil.example")',
        "-测试",
        "'普通引号",
    ]
    formula = xlsx([HEADERS, ledger_row(seq=1, name='=HYPERLINK("http://evil.example")')])
    refused = _preview(world, formula)
    assert refused.status == ImportStatus.FAILED
    assert "B2" in refused.message and "公式" in refused.message
