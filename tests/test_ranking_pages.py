"""The ranking pages and API: who sees what, publishing from the page, fixed query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from projects import services
from supervision import rankings
from supervision.models import RankingSnapshot
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.pages import count_queries, login
from tracker import periods


@pytest.fixture
def board(
    today,
    county,
    unit_a,
    unit_b,
    reporter_a,
    reporter_b,
    supervisor,
    project_a,
    project_b,
    stranger,
):
    for project, actor, amount in ((project_a, reporter_a, 600), (project_b, reporter_b, 200)):
        services.year_plan_set(
            project=project, year=2026, actor=actor, planned_investment=Decimal(1000)
        )
        report = services.report_save(
            project=project, period=periods.parse("2026-10"), actor=actor, investment=amount
        )
        services.report_submit(report=report, actor=actor)
    scheme = factories.RankingSchemeFactory(parent_unit=county)
    published = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-10"))
    rankings.ranking_publish(snapshot=published, actor=supervisor)
    draft = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-11"))
    closed_draft = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-09"))
    return {
        "scheme": scheme,
        "published": published,
        "draft": draft,
        "closed_draft": closed_draft,
    }


@pytest.mark.parametrize(
    ("persona", "index_lists", "published", "draft"),
    [
        ("reporter_a", True, 200, 404),  # a ranked department sees the published ranking
        ("head_a", True, 200, 404),
        ("leader", True, 200, 404),
        ("supervisor", True, 200, 200),
        ("stranger", False, 404, 404),  # a supervisor of another county
    ],
)
def test_ranking_pages_by_persona(client, request, board, persona, index_lists, published, draft):
    login(client, request, persona)
    index = client.get("/rankings/")
    assert index.status_code == 200
    assert ("县直部门月度排名" in index.content.decode()) is index_lists
    page = client.get(f"/rankings/{board['published'].pk}/")
    assert page.status_code == published
    if published == 200:
        html = page.content.decode()
        assert "交通运输局" in html and "水利局" in html
        assert "发布" in html  # the published banner
        assert "发布此排名" not in html  # nothing left to publish
    assert client.get(f"/rankings/{board['draft'].pk}/").status_code == draft


def test_the_index_points_supervisors_to_closed_drafts(client, board, supervisor, reporter_a):
    client.force_login(supervisor)
    html = client.get("/rankings/").content.decode()
    link = f'href="/rankings/{board["closed_draft"].pk}/"'
    assert link in html and "2026年9月已结束，待发布" in html
    assert f'href="/rankings/{board["draft"].pk}/"' in html  # the open month's preview
    client.force_login(reporter_a)
    html = client.get("/rankings/").content.decode()
    assert link not in html and "待发布" not in html


def test_anonymous_is_sent_to_log_in(client, board):
    for url in ("/rankings/", f"/rankings/{board['published'].pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post(f"/rankings/{board['closed_draft'].pk}/publish/")
    assert response.status_code == 302
    assert RankingSnapshot.objects.get(pk=board["closed_draft"].pk).status == "draft"


def test_detail_shows_rank_score_and_movement(client, board, supervisor):
    client.force_login(supervisor)
    html = client.get(f"/rankings/{board['published'].pk}/").content.decode()
    # 交通运输局: 60 % of its plan, first; 水利局: 20 %, second.
    assert html.index("交通运输局") < html.index("水利局")
    assert "60.00%" in html and "20.00%" in html
    assert "投资完成率" in html and "亮红牌项目数" in html


def test_supervisor_publishes_a_closed_draft_from_the_page(client, board, supervisor):
    client.force_login(supervisor)
    url = f"/rankings/{board['closed_draft'].pk}/"
    assert "发布此排名" in client.get(url).content.decode()
    response = client.post(f"{url}publish/", follow=True)
    assert response.status_code == 200
    snapshot = RankingSnapshot.objects.get(pk=board["closed_draft"].pk)
    assert (snapshot.status, snapshot.published_by) == ("published", supervisor)
    assert "已发布" in response.content.decode()


def test_supervisor_recomputes_a_draft_and_keeps_the_commentary(
    client, board, supervisor, project_b, reporter_b
):
    """A late correction shows in the draft when the supervisor asks for it; what was typed in
    the commentary box is saved on the way."""
    draft = board["closed_draft"]  # September: 0 % for both, computed before any correction
    september = periods.parse("2026-09")
    services.report_submit(
        report=services.report_save(
            project=project_b, period=september, actor=reporter_b, investment=300
        ),
        actor=reporter_b,
    )
    client.force_login(supervisor)
    url = f"/rankings/{draft.pk}/"
    html = client.get(url).content.decode()
    assert "立即重新计算" in html
    response = client.post(
        f"{url}recompute/", {"commentary": "水利局进度加快。", "fingerprint": "x"}, follow=True
    )
    html = response.content.decode()
    assert "已按最新数据重新计算" in html
    draft.refresh_from_db()
    assert draft.commentary == "水利局进度加快。"
    water = draft.entries.get(unit__name="水利局")
    assert water.values["investment_rate"] == "30.00"  # 300 ÷ 1000 by the end of September
    assert water.rank == 1
    # Nothing new: said so, nothing written.
    before = (draft.fingerprint, draft.computed_at)
    response = client.post(f"{url}recompute/", follow=True)
    assert "没有变化" in response.content.decode()
    draft.refresh_from_db()
    assert (draft.fingerprint, draft.computed_at) == before


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "head_a"])
def test_only_supervisors_recompute(client, request, board, persona):
    client.force_login(request.getfixturevalue(persona))
    draft = board["closed_draft"]
    assert client.post(f"/rankings/{draft.pk}/recompute/").status_code == 404
    client.force_login(request.getfixturevalue("supervisor"))
    published = board["published"]
    response = client.post(f"/rankings/{published.pk}/recompute/", follow=True)
    assert "已发布" in response.content.decode()
    assert RankingSnapshot.objects.get(pk=published.pk).computed_at == published.computed_at


def test_a_draft_recomputed_after_it_was_opened_is_not_published_unseen(
    client, board, supervisor, project_b, reporter_b
):
    """The supervisor opened the draft, then it was recomputed with a correction (the nightly
    job, or a colleague): publishing the page they saw is refused, with their commentary kept;
    publishing again from the refreshed page works."""
    draft = board["closed_draft"]
    client.force_login(supervisor)
    url = f"/rankings/{draft.pk}/"
    client.get(url)
    seen = draft.fingerprint
    services.report_submit(
        report=services.report_save(
            project=project_b, period=periods.parse("2026-09"), actor=reporter_b, investment=300
        ),
        actor=reporter_b,
    )
    rankings.ranking_compute(scheme=board["scheme"], period=draft.period)
    response = client.post(
        f"{url}publish/", {"commentary": "请各单位对照整改。", "fingerprint": seen}, follow=True
    )
    html = response.content.decode()
    assert "重新计算" in html and "请各单位对照整改。" in html
    draft.refresh_from_db()
    assert (draft.status, draft.commentary) == ("draft", "请各单位对照整改。")
    response = client.post(
        f"{url}publish/",
        {"commentary": draft.commentary, "fingerprint": draft.fingerprint},
        follow=True,
    )
    draft.refresh_from_db()
    assert (draft.status, draft.published_by) == ("published", supervisor)
    assert draft.entries.get(unit__name="水利局").values["investment_rate"] == "30.00"


def test_open_period_cannot_be_published_from_the_page(client, board, supervisor):
    client.force_login(supervisor)
    url = f"/rankings/{board['draft'].pk}/"
    assert "发布此排名" not in client.get(url).content.decode()
    response = client.post(f"{url}publish/", follow=True)
    assert "尚未结束" in response.content.decode()
    assert RankingSnapshot.objects.get(pk=board["draft"].pk).status == "draft"


@pytest.mark.parametrize(("persona", "status"), [("reporter_a", 404), ("leader", 404)])
def test_only_supervisors_publish(client, request, board, persona, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(f"/rankings/{board['closed_draft'].pk}/publish/")
    assert response.status_code == status
    assert RankingSnapshot.objects.get(pk=board["closed_draft"].pk).status == "draft"


def test_a_county_head_sees_published_but_cannot_republish(client, board, leader):
    client.force_login(leader)
    response = client.post(f"/rankings/{board['published'].pk}/publish/")
    assert response.status_code == 403


def test_pages_keep_a_fixed_number_of_queries(client, board, county, supervisor, reporter_a):
    client.force_login(supervisor)
    index = count_queries(client, "/rankings/")
    detail = count_queries(client, f"/rankings/{board['published'].pk}/")
    # More schemes, more units, more periods: the same number of queries.
    for n in range(4):
        unit = factories.UnitFactory(name=f"新部门{n}", kind="department", parent=county)
        factories.create_project(actor=supervisor, lead_unit=unit, name=f"项目{n}")
    for n in range(3):
        scheme = factories.RankingSchemeFactory(parent_unit=county, name=f"方案{n}")
        for key in ("2026-09", "2026-10"):
            snapshot = rankings.ranking_compute(scheme=scheme, period=periods.parse(key))
            rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    bigger = rankings.ranking_compute(scheme=board["scheme"], period=periods.parse("2026-08"))
    rankings.ranking_publish(snapshot=bigger, actor=supervisor)
    assert count_queries(client, "/rankings/") == index
    assert count_queries(client, f"/rankings/{board['published'].pk}/") == detail
    # each with the nav badge's query (cold cache); the detail with its rank history chart
    assert (index, detail) == (7, 9)


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "schemes", "rankings_seen"),
    [
        ("reporter_a", 1, {"2026-10"}),
        ("leader", 1, {"2026-10"}),
        ("supervisor", 1, {"2026-09", "2026-10", "2026-11"}),
        ("stranger", 0, set()),
    ],
)
def test_api_lists_by_persona(client, request, board, persona, schemes, rankings_seen):
    user = request.getfixturevalue(persona)
    auth = bearer(make_token(user))
    body = client.get("/api/v1/ranking-schemes/", headers=auth).json()
    assert body["count"] == schemes
    body = client.get("/api/v1/rankings/", headers=auth).json()
    assert {r["period_key"] for r in body["results"]} == rankings_seen
    detail = client.get(f"/api/v1/rankings/{board['draft'].pk}/", headers=auth)
    if "2026-11" in rankings_seen:
        assert detail.status_code == 200
        entries = detail.json()["entries"]
        assert [e["unit_name"] for e in entries][:2] == ["交通运输局", "水利局"]
    else:
        assert_error(detail, 404, "not_found")


def test_api_ranking_content_and_filters(client, board, reporter_a):
    auth = bearer(make_token(reporter_a))
    body = client.get("/api/v1/rankings/?period=2026-10", headers=auth).json()
    [ranking] = body["results"]
    assert ranking["status"] == "published"
    first = ranking["entries"][0]
    assert (first["unit_name"], first["rank"], first["values"]["investment_rate"]) == (
        "交通运输局",
        1,
        "60.00",
    )
    assert [m["key"] for m in ranking["metrics"]] == ["red_cards", "investment_rate"]
    scheme = client.get(f"/api/v1/ranking-schemes/{board['scheme'].pk}/", headers=auth).json()
    assert {m["metric"]: m["label"] for m in scheme["metrics"]} == {
        "red_cards": "亮红牌项目数",
        "investment_rate": "投资完成率",
    }
    bad = client.get("/api/v1/rankings/?status=final", headers=auth)
    assert "status" in assert_error(bad, 400, "invalid")["details"]


def test_api_rankings_are_read_only_and_need_a_token(client, board, supervisor):
    url = f"/api/v1/rankings/{board['closed_draft'].pk}/"
    assert_error(client.get(url), 401, "not_authenticated")
    write = bearer(make_token(supervisor, write=True))
    for method in ("post", "put", "patch", "delete"):
        target = "/api/v1/rankings/" if method == "post" else url
        response = getattr(client, method)(
            target, data={}, content_type="application/json", headers=write
        )
        assert_error(response, 405, "method_not_allowed")
    assert RankingSnapshot.objects.get(pk=board["closed_draft"].pk).status == "draft"


def test_api_lists_keep_a_fixed_number_of_queries(client, board, county, supervisor):
    auth = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=auth)  # the token's first use records it (once a minute)
    urls = ["/api/v1/rankings/?page_size=10", "/api/v1/ranking-schemes/?page_size=10"]
    before = [count_queries(client, url, headers=auth) for url in urls]
    for n in range(3):
        unit = factories.UnitFactory(name=f"新部门{n}", kind="department", parent=county)
        factories.create_project(actor=supervisor, lead_unit=unit, name=f"项目{n}")
        scheme = factories.RankingSchemeFactory(parent_unit=county, name=f"方案{n}")
        for key in ("2026-08", "2026-09", "2026-10"):
            rankings.ranking_compute(scheme=scheme, period=periods.parse(key))
    after = [count_queries(client, url.replace("=10", "=100"), headers=auth) for url in urls]
    assert before == after == [5, 5]


def test_a_score_of_zero_is_shown_as_a_score():
    """A unit that scored 0.00 has a score: "—" is for a unit exempted or not scored. Every
    template showing a score falls back to "—" only for None (``default_if_none``), never for
    a falsy 0 (``default``)."""
    import re
    from pathlib import Path

    from django.conf import settings
    from django.template import Context, Template

    templates = Path(settings.BASE_DIR) / "templates"
    falsy_fallbacks = [
        f"{path.relative_to(templates)}: {match}"
        for path in templates.rglob("*.html")
        for match in re.findall(r"score\|default:[^ %}]*", path.read_text())
    ]
    assert falsy_fallbacks == []
    shown = Template('{{ score|default_if_none:"—" }}').render(Context({"score": Decimal("0.00")}))
    assert shown == "0.00"
