"""Bulletins (通报) of published rankings and the rank history: the page, the .xlsx and the .docx
say the same; the commentary is frozen on publishing; who sees what; the notification links to
the bulletin; fixed query counts; the history chart's data."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from docx import Document

from projects import services as project_services
from projects.models import Light, Project, Role
from supervision import rankings
from supervision.alerts import update_lights
from supervision.bulletins import bulletin_for
from supervision.issues import services as issue_services
from supervision.models import (
    EscalationLevel,
    Issue,
    Notification,
    RankingExemption,
    RankingScheme,
    RankingSnapshot,
)
from supervision.ranking_history import rank_history
from tests import factories
from tests.support.api import bearer, make_token
from tests.support.files import download_name, xlsx_rows
from tests.support.pages import count_queries
from tracker import periods

COMMENTARY = "交通运输局推进有力，予以表扬。\n水利局进度滞后，请限期整改。"


def raise_issue(*, supervisor, unit, title, deadline, project=None, level=None):
    """An issue due on ``deadline``, which may be past (raised long ago: the service refuses a
    past deadline), escalated to ``level`` when given."""
    issue = factories.IssueFactory(
        actor=supervisor, unit=unit, title=title, category="other", project=project
    )
    Issue.objects.filter(pk=issue.pk).update(deadline=deadline)
    issue.refresh_from_db()
    if level is not None:
        issue_services.issue_escalate(issue=issue, actor=supervisor, level=level, reason="推进不力")
    return issue


def red_card(project, supervisor, reason: str) -> None:
    project_services.project_set_red_card(
        project=project, actor=supervisor, red_card=True, reason=reason
    )
    update_lights([project.pk])  # what the commit hook does outside the test's transaction


@pytest.fixture
def world(today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, project_a, project_b):
    for project, actor, amount in ((project_a, reporter_a, 600), (project_b, reporter_b, 200)):
        project_services.year_plan_set(
            project=project, year=2026, actor=actor, planned_investment=Decimal(1000)
        )
        report = project_services.report_save(
            project=project, period=periods.parse("2026-10"), actor=actor, investment=amount
        )
        project_services.report_submit(report=report, actor=actor)
    red_card(project_b, supervisor, "征地拆迁严重滞后")
    overdue = raise_issue(
        supervisor=supervisor,
        unit=unit_b,
        title="库区移民安置未完成",
        deadline=dt.date(2026, 11, 1),
        project=project_b,
    )
    escalated = raise_issue(
        supervisor=supervisor,
        unit=unit_a,
        title="施工便道未打通",
        deadline=dt.date(2026, 12, 20),
        level=EscalationLevel.LISTED,
    )
    calm = raise_issue(
        supervisor=supervisor, unit=unit_a, title="资料归档不全", deadline=dt.date(2026, 12, 20)
    )
    other_county = factories.UnitFactory(name="邻县", kind="county", parent=county.parent)
    elsewhere = factories.UnitFactory(name="邻县交通局", kind="department", parent=other_county)
    stranger = factories.member(other_county, Role.SUPERVISOR, username="stranger")
    raise_issue(
        supervisor=stranger, unit=elsewhere, title="邻县的问题", deadline=dt.date(2026, 10, 1)
    )
    scheme = factories.RankingSchemeFactory(parent_unit=county)
    RankingScheme.objects.filter(pk=scheme.pk).update(top_count=1, bottom_count=1)
    september = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-09"))
    rankings.ranking_publish(snapshot=september, actor=supervisor)
    draft = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-10"))
    rankings.ranking_set_commentary(snapshot=draft, commentary=COMMENTARY, actor=supervisor)
    return {
        "scheme": scheme,
        "september": september,
        "draft": draft,
        "overdue": overdue,
        "escalated": escalated,
        "calm": calm,
        "stranger": stranger,
        "project_b": project_b,
    }


def publish(world, supervisor) -> RankingSnapshot:
    return rankings.ranking_publish(snapshot=world["draft"], actor=supervisor)


def zh_bulletin(snapshot_pk: int):
    snapshot = RankingSnapshot.objects.select_related("scheme__parent_unit").get(pk=snapshot_pk)
    with translation.override("zh-hans"):
        return bulletin_for(snapshot)


# --- content -----------------------------------------------------------------------------------


def test_the_bulletin_says_what_the_period_brought(world, supervisor, project_b):
    assert Project.objects.get(pk=project_b.pk).light == Light.RED
    snapshot = publish(world, supervisor)
    bulletin = zh_bulletin(snapshot.pk)
    assert not bulletin.is_draft
    assert snapshot.scheme.name in bulletin.title and "2026" in bulletin.title
    assert [(r.rank, r.unit) for r in bulletin.rows] == [(1, "交通运输局"), (2, "水利局")]
    assert [r.unit for r in bulletin.top] == ["交通运输局"]
    assert [r.unit for r in bulletin.bottom] == ["水利局"]
    assert [(p.name, p.unit) for p in bulletin.red_projects] == [("水库除险加固", "水利局")]
    assert "征地拆迁严重滞后" in bulletin.red_projects[0].reasons[0]
    # Overdue or at 督办 and above; the calm issue and the other county's are not there.
    assert [(i.title, i.days_overdue, i.level) for i in bulletin.issues] == [
        ("施工便道未打通", 0, EscalationLevel.LISTED),
        ("库区移民安置未完成", 20, EscalationLevel.NORMAL),
    ]
    assert (bulletin.overdue_count, bulletin.escalated_count) == (1, 1)
    assert bulletin.commentary == COMMENTARY.split("\n")
    assert bulletin.date == dt.date(2026, 11, 21)
    # The county's second bulletin this year (September's was the first).
    assert snapshot.bulletin["number"] == 2 and "2026" in bulletin.number and "2" in bulletin.number


def test_bulletin_numbers_count_up_within_the_issuing_unit(world, supervisor):
    first = publish(world, supervisor)
    second = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-08"))
    second = rankings.ranking_publish(snapshot=second, actor=supervisor)
    # September was published in the fixture: its bulletin is No. 1.
    numbers = [RankingSnapshot.objects.get(pk=s.pk).bulletin["number"] for s in (first, second)]
    assert numbers == [2, 3]


def test_a_published_bulletin_never_changes(world, supervisor, project_b):
    snapshot = publish(world, supervisor)
    before = zh_bulletin(snapshot.pk)
    project_services.project_set_red_card(project=project_b, actor=supervisor, red_card=False)
    update_lights([project_b.pk])
    Issue.objects.filter(pk=world["overdue"].pk).update(
        status="closed", closed_at=dt.datetime.now(tz=dt.UTC)
    )
    after = zh_bulletin(snapshot.pk)
    assert after.red_projects == before.red_projects and after.issues == before.issues
    # A draft is a live preview: the next period's would no longer list them.
    draft = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-11"))
    preview = zh_bulletin(draft.pk)
    assert preview.is_draft and preview.red_projects == []
    assert [i.title for i in preview.issues] == ["施工便道未打通"]


# --- the page and the files say the same -------------------------------------------------------


def page_rows(html: str) -> list[tuple[str, str, str]]:
    section = html[html.index('id="ranking"') : html.index('id="marks"')]
    return re.findall(
        r'data-unit="([^"]+)">\s*<td class="num rank-cell">([^<]*)</td>.*?'
        r'<td class="num score-cell">([^<]*)</td>',
        section,
        flags=re.S,
    )


def docx_rows(content: bytes) -> tuple[list[tuple[str, str, str]], str]:
    document = Document(BytesIO(content))
    ranking = document.tables[0]
    table = [(row.cells[1].text, row.cells[0].text, row.cells[2].text) for row in ranking.rows[1:]]
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    return table, text


def test_page_xlsx_and_docx_state_the_same_figures(client, world, supervisor):
    snapshot = publish(world, supervisor)
    client.force_login(supervisor)
    base = f"/rankings/{snapshot.pk}/bulletin"
    page = client.get(f"{base}/")
    assert page.status_code == 200
    html = page.content.decode()
    xlsx = client.get(f"{base}.xlsx")
    docx = client.get(f"{base}.docx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    bulletin = zh_bulletin(snapshot.pk)
    assert download_name(xlsx) == f"{bulletin.title}.xlsx"
    assert download_name(docx) == f"{bulletin.title}.docx"
    expected = [(r.unit, r.rank_text, r.score_text) for r in bulletin.rows]
    header_first = page.context["ranking_header"][0]
    from_xlsx, xlsx_text = xlsx_rows(xlsx.content, header_first)
    from_docx, docx_text = docx_rows(docx.content)
    assert page_rows(html) == from_xlsx == from_docx == expected
    # 水利局: 20 % of plan (33.33 of 100, weight 2) and a red card (0 of 100, weight 1).
    assert expected == [("交通运输局", "1", "100.00"), ("水利局", "2", "22.22")]
    # Heading, number, top and bottom, red projects, issues and the commentary, everywhere.
    for text in (html, xlsx_text, docx_text):
        for needle in (
            bulletin.title,
            bulletin.office,
            bulletin.number,
            bulletin.summary,
            "水库除险加固",
            world["overdue"].number,
            world["escalated"].number,
            *COMMENTARY.split("\n"),
            bulletin.date_text,
        ):
            assert needle in text, needle
        assert world["calm"].title not in text
        assert "邻县的问题" not in text
    assert "DRAFT" not in html and "草稿" not in html


def test_the_docx_is_laid_out_for_filing(client, world, supervisor):
    snapshot = publish(world, supervisor)
    client.force_login(supervisor)
    document = Document(BytesIO(client.get(f"/rankings/{snapshot.pk}/bulletin.docx").content))
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    bulletin = zh_bulletin(snapshot.pk)
    title = next(p for p in document.paragraphs if p.text == bulletin.title)
    assert title.alignment == 1  # centred
    assert title.runs[0].font.name == "方正小标宋简体"
    fonts = {run.font.name for p in document.paragraphs for run in p.runs}
    assert {"黑体", "仿宋_GB2312"} <= fonts
    headings = [p.text for p in document.paragraphs if p.runs and p.runs[0].font.name == "黑体"]
    assert len(headings) == 5 and headings[0].startswith(("一", "1"))
    assert len(document.tables) == 3  # ranking, red-light projects, issues


def test_a_draft_bulletin_is_a_marked_preview(client, world, supervisor):
    client.force_login(supervisor)
    html = client.get(f"/rankings/{world['draft'].pk}/bulletin/").content.decode()
    preview = zh_bulletin(world["draft"].pk)
    assert preview.is_draft
    assert 'class="draft-mark"' in html
    with translation.override("zh-hans"):
        from django.utils.translation import gettext

        mark = gettext("DRAFT: a preview, not published")
    content = client.get(f"/rankings/{world['draft'].pk}/bulletin.docx").content
    assert mark in Document(BytesIO(content)).paragraphs[0].text


# --- commentary --------------------------------------------------------------------------------


def test_supervisor_writes_the_commentary_on_the_draft_page(client, world, supervisor):
    client.force_login(supervisor)
    url = f"/rankings/{world['draft'].pk}/"
    page = client.get(url).content.decode()
    assert 'name="commentary"' in page and "交通运输局推进有力" in page
    response = client.post(f"{url}commentary/", {"commentary": "  新的点评。\r\n第二段。  "})
    assert response.status_code == 302
    assert RankingSnapshot.objects.get(pk=world["draft"].pk).commentary == "新的点评。\n第二段。"


def test_publishing_from_the_commentary_form_saves_it_first(client, world, supervisor):
    client.force_login(supervisor)
    url = f"/rankings/{world['draft'].pk}/"
    assert 'formaction="' + url + 'publish/"' in client.get(url).content.decode()
    response = client.post(f"{url}publish/", {"commentary": "发布时写的点评。"})
    assert response.status_code == 302
    snapshot = RankingSnapshot.objects.get(pk=world["draft"].pk)
    assert (snapshot.status, snapshot.commentary) == ("published", "发布时写的点评。")
    assert zh_bulletin(snapshot.pk).commentary == ["发布时写的点评。"]


def test_publishing_with_too_long_a_commentary_publishes_nothing(client, world, supervisor):
    client.force_login(supervisor)
    response = client.post(f"/rankings/{world['draft'].pk}/publish/", {"commentary": "长" * 5001})
    assert response.status_code == 400
    snapshot = RankingSnapshot.objects.get(pk=world["draft"].pk)
    assert (snapshot.status, snapshot.commentary) == ("draft", COMMENTARY)


def test_too_long_a_commentary_is_refused_and_nothing_changes(client, world, supervisor):
    client.force_login(supervisor)
    response = client.post(
        f"/rankings/{world['draft'].pk}/commentary/", {"commentary": "长" * 5001}
    )
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert RankingSnapshot.objects.get(pk=world["draft"].pk).commentary == COMMENTARY


def test_the_commentary_is_frozen_once_published(client, world, supervisor):
    snapshot = publish(world, supervisor)
    with pytest.raises(ValidationError):
        rankings.ranking_set_commentary(snapshot=snapshot, commentary="改一下", actor=supervisor)
    client.force_login(supervisor)
    page = client.get(f"/rankings/{snapshot.pk}/").content.decode()
    assert 'name="commentary"' not in page and "交通运输局推进有力" in page
    response = client.post(f"/rankings/{snapshot.pk}/commentary/", {"commentary": "改一下"})
    assert response.status_code == 400
    assert RankingSnapshot.objects.get(pk=snapshot.pk).commentary == COMMENTARY


@pytest.mark.parametrize(("persona", "status"), [("reporter_a", 404), ("leader", 404)])
def test_only_supervisors_write_the_commentary(client, request, world, persona, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(f"/rankings/{world['draft'].pk}/commentary/", {"commentary": "x"})
    assert response.status_code == status
    assert RankingSnapshot.objects.get(pk=world["draft"].pk).commentary == COMMENTARY


def test_a_leader_cannot_write_a_commentary_through_the_service(world, leader):
    with pytest.raises(PermissionDenied):
        rankings.ranking_set_commentary(snapshot=world["draft"], commentary="x", actor=leader)


def test_the_api_shows_the_commentary(client, world, supervisor, reporter_a):
    snapshot = publish(world, supervisor)
    body = client.get(
        f"/api/v1/rankings/{snapshot.pk}/", headers=bearer(make_token(reporter_a))
    ).json()
    assert body["commentary"] == COMMENTARY


# --- who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "published", "draft"),
    [
        ("anonymous", 302, 302),
        ("reporter_a", 200, 404),
        ("head_a", 200, 404),
        ("leader", 200, 404),
        ("supervisor", 200, 200),
        ("stranger", 404, 404),
    ],
)
def test_bulletin_permissions(client, request, world, supervisor, persona, published, draft):
    snapshot = publish(world, supervisor)
    other = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-11"))
    if persona == "stranger":
        client.force_login(world["stranger"])
    elif persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    for suffix in ("/", ".xlsx", ".docx"):
        assert client.get(f"/rankings/{snapshot.pk}/bulletin{suffix}").status_code == published
        assert client.get(f"/rankings/{other.pk}/bulletin{suffix}").status_code == draft


# --- notification ------------------------------------------------------------------------------


def test_publishing_tells_the_ranked_units_with_the_bulletin_link(
    world, supervisor, reporter_a, reporter_b
):
    snapshot = publish(world, supervisor)
    told = Notification.objects.filter(event="ranking.published", url__contains=f"/{snapshot.pk}/")
    assert set(told.values_list("recipient_id", flat=True)) == {reporter_a.pk, reporter_b.pk}
    assert {n.url for n in told} == {f"/rankings/{snapshot.pk}/bulletin/"}


# --- query counts ------------------------------------------------------------------------------


def test_bulletin_pages_keep_a_fixed_number_of_queries(client, world, county, supervisor):
    snapshot = publish(world, supervisor)
    draft = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-11"))
    client.force_login(supervisor)
    urls = [f"/rankings/{snapshot.pk}/bulletin/", f"/rankings/{draft.pk}/bulletin/"]
    before = [count_queries(client, url) for url in urls]
    # More units, red projects and overdue issues: the same number of queries.
    for n in range(3):
        unit = factories.UnitFactory(name=f"新部门{n}", kind="department", parent=county)
        project = factories.create_project(actor=supervisor, lead_unit=unit, name=f"项目{n}")
        red_card(project, supervisor, "滞后")
        raise_issue(
            supervisor=supervisor,
            unit=unit,
            title=f"问题{n}",
            deadline=dt.date(2026, 11, 2),
            project=project,
        )
    bigger = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-08"))
    rankings.ranking_publish(snapshot=bigger, actor=supervisor)
    draft = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-11"))
    assert len(zh_bulletin(draft.pk).red_projects) == 4
    after = [
        count_queries(client, f"/rankings/{bigger.pk}/bulletin/"),
        count_queries(client, f"/rankings/{draft.pk}/bulletin/"),
    ]
    assert before == after
    # published: session, user, memberships, snapshot, entries, badge; a draft: + 3 facts
    assert before == [6, 9]


# --- rank history ------------------------------------------------------------------------------


@pytest.fixture
def history(world, supervisor, unit_a, unit_b):
    publish(world, supervisor)  # October
    RankingExemption.objects.create(
        scheme=world["scheme"], unit=unit_a, period_key="2026-08", reason="不可抗力"
    )
    august = rankings.ranking_compute(scheme=world["scheme"], period=periods.parse("2026-08"))
    rankings.ranking_publish(snapshot=august, actor=supervisor)
    return world


def test_rank_history_gives_each_units_rank_by_period(history, unit_a, unit_b):
    result = rank_history(history["scheme"].pk)
    assert [key for key, _label in result.periods] == ["2026-08", "2026-09", "2026-10"]
    ranks = {u.name: u.ranks for u in result.units}
    # August: 交通运输局 exempt, so 水利局 alone is first; then its red card puts it second.
    assert ranks == {"交通运输局": [None, 1, 1], "水利局": [1, 2, 2]}
    assert [u.name for u in result.units] == ["交通运输局", "水利局"]  # by the latest rank
    mine = rank_history(history["scheme"].pk, unit_id=unit_b.pk)
    assert [u.name for u in mine.units] == ["水利局"] and mine.units[0].ranks == [1, 2, 2]
    assert [
        k for k, _ in rank_history(history["scheme"].pk, until=dt.date(2026, 9, 1)).periods
    ] == [
        "2026-08",
        "2026-09",
    ]


def chart_json(html: str) -> dict:
    match = re.search(
        r'<script id="rank-history-data" type="application/json">(.*?)</script>', html
    )
    return json.loads(match.group(1))


def test_ranking_page_carries_the_chart_data_and_a_table(client, history, supervisor, unit_b):
    client.force_login(supervisor)
    october = RankingSnapshot.objects.get(scheme=history["scheme"], period_key="2026-10")
    html = client.get(f"/rankings/{october.pk}/").content.decode()
    data = chart_json(html)
    assert len(data["periods"]) == 3
    water = next(u for u in data["units"] if u["name"] == "水利局")
    assert water["ranks"] == [1, 2, 2]
    assert next(u for u in data["units"] if u["name"] == "交通运输局")["ranks"] == [None, 1, 1]
    assert water["url"] == f"/rankings/scheme/{history['scheme'].pk}/unit/{unit_b.pk}/"
    assert "echarts.min.js" in html and "ranking_history.js" in html
    assert 'class="table history-table"' in html
    assert f'href="/rankings/{october.pk}/bulletin/"' in html
    assert f'href="/rankings/{october.pk}/bulletin.docx"' in html


def test_unit_history_page(client, request, history, supervisor, reporter_a, unit_b, leader):
    url = f"/rankings/scheme/{history['scheme'].pk}/unit/{unit_b.pk}/"
    for user in (supervisor, reporter_a, leader):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert chart_json(html)["units"][0]["ranks"] == [1, 2, 2]
        assert html.count('<span class="rank') == 3
    client.force_login(history["stranger"])
    assert client.get(url).status_code == 404
    client.force_login(supervisor)
    elsewhere = factories.UnitFactory(name="无关部门", kind="township", parent=unit_b.parent)
    assert (
        client.get(f"/rankings/scheme/{history['scheme'].pk}/unit/{elsewhere.pk}/").status_code
        == 404
    )
    client.logout()
    assert client.get(url).status_code == 302


def test_unit_history_keeps_a_fixed_number_of_queries(client, history, supervisor, unit_b):
    client.force_login(supervisor)
    url = f"/rankings/scheme/{history['scheme'].pk}/unit/{unit_b.pk}/"
    before = count_queries(client, url)
    july = rankings.ranking_compute(scheme=history["scheme"], period=periods.parse("2026-07"))
    rankings.ranking_publish(snapshot=july, actor=supervisor)
    assert count_queries(client, url) == before
