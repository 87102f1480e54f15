"""Inspections (督查检查): who sees and writes them, scores, photos, issues raised in one step,
the pages (fixed query counts) and the API."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from projects.services import VersionConflict
from supervision.inspections import services
from supervision.models import Inspection, InspectionPhoto, InspectionScore, Issue
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.files import jpeg_bytes, upload
from tests.support.forms import formset_data, issue_row
from tests.support.pages import count_queries, login


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------------------------------------
# Services: recording and changing an inspection
# ---------------------------------------------------------------------------------------------


def test_create_records_everything_with_the_actor(inspection, supervisor, project_a, unit_a):
    inspection.refresh_from_db()
    assert inspection.created_by == supervisor
    assert inspection.version == 1
    assert list(inspection.projects.all()) == [project_a]
    assert list(inspection.units_visited.all()) == [unit_a]
    assert inspection.history.first().history_user == supervisor


@pytest.mark.parametrize("persona", ["reporter_a", "head_a", "leader", "unit_supervisor"])
def test_only_a_supervisor_over_the_organising_unit_records(request, persona, county, today):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.inspection_create(
            actor=actor, title="督查", kind="regular", held_on=today, unit=county, inspectors="甲"
        )
    assert not Inspection.objects.exists()


def test_a_unit_supervisor_records_for_its_own_unit(unit_supervisor, unit_b, today):
    inspection = services.inspection_create(
        actor=unit_supervisor,
        title="水利局内部督查",
        kind="regular",
        held_on=today,
        unit=unit_b,
        inspectors="乙",
    )
    assert inspection.unit == unit_b


def test_create_refuses_future_dates_and_things_out_of_scope(
    supervisor, county, today, stranger_project, stranger
):
    other_county = stranger.memberships.get().unit
    with pytest.raises(ValidationError) as caught:
        services.inspection_create(
            actor=supervisor,
            title="督查",
            kind="regular",
            held_on=today + dt.timedelta(days=1),
            unit=county,
            inspectors="甲",
            projects=[stranger_project],
            units_visited=[other_county],
        )
    assert set(caught.value.message_dict) == {"held_on", "projects", "units_visited"}
    assert not Inspection.objects.exists()


def test_update_raises_the_version_and_detects_conflicts(inspection, supervisor, unit_b):
    updated = services.inspection_update(
        inspection=inspection,
        actor=supervisor,
        expected_version=1,
        findings="补充：安全帽佩戴不规范。",
        units_visited=[unit_b],
    )
    assert updated.version == 2
    assert list(updated.units_visited.all()) == [unit_b]
    with pytest.raises(VersionConflict):
        services.inspection_update(
            inspection=inspection, actor=supervisor, expected_version=1, title="改"
        )
    assert Inspection.objects.get(pk=inspection.pk).title != "改"


def test_a_scored_project_cannot_leave_the_visit(inspection, supervisor, project_a, project_b):
    services.inspection_update(
        inspection=inspection, actor=supervisor, projects=[project_a, project_b]
    )
    services.inspection_set_scores(
        inspection=inspection, actor=supervisor, scores=[{"project": project_a, "score": "88"}]
    )
    with pytest.raises(ValidationError) as caught:
        services.inspection_update(inspection=inspection, actor=supervisor, projects=[project_b])
    assert "projects" in caught.value.message_dict
    assert set(Inspection.objects.get(pk=inspection.pk).projects.all()) == {project_a, project_b}


# ---------------------------------------------------------------------------------------------
# Scores (观摩评比)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def scored(inspection, supervisor, project_a, project_b):
    services.inspection_update(
        inspection=inspection, actor=supervisor, projects=[project_a, project_b]
    )
    return inspection


def test_scores_are_a_whole_sheet(scored, supervisor, project_a, project_b):
    services.inspection_set_scores(
        inspection=scored,
        actor=supervisor,
        scores=[
            {"project": project_a, "score": Decimal("92.5"), "comment": "进度快"},
            {"project": project_b, "score": 0},
        ],
    )
    assert {(s.project_id, s.score) for s in InspectionScore.objects.all()} == {
        (project_a.pk, Decimal("92.50")),
        (project_b.pk, Decimal("0.00")),
    }
    version = Inspection.objects.get(pk=scored.pk).version
    # A project left out (or scored blank) loses its score; the other keeps its row.
    kept = InspectionScore.objects.get(project=project_a).pk
    services.inspection_set_scores(
        inspection=scored,
        actor=supervisor,
        scores=[{"project": project_a, "score": "100"}, {"project": project_b, "score": None}],
    )
    assert list(InspectionScore.objects.values_list("pk", "score")) == [(kept, Decimal("100.00"))]
    assert Inspection.objects.get(pk=scored.pk).version == version + 1


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"score": "100.01"}, "score"),
        ({"score": "-1"}, "score"),
        ({"score": "99.999"}, "score"),
        ({"score": "NaN"}, "score"),
        ({"score": "九十"}, "score"),
        ({"score": "", "comment": "好"}, "score"),
    ],
)
def test_bad_scores_change_nothing(scored, supervisor, project_a, project_b, row, field):
    services.inspection_set_scores(
        inspection=scored, actor=supervisor, scores=[{"project": project_b, "score": "60"}]
    )
    with pytest.raises(services.RowErrors) as caught:
        services.inspection_set_scores(
            inspection=scored,
            actor=supervisor,
            scores=[{"project": project_b, "score": "70"}, {"project": project_a, **row}],
        )
    assert list(caught.value.rows) == [1]
    assert f"1.{field}" in caught.value.message_dict
    assert list(InspectionScore.objects.values_list("project", "score")) == [
        (project_b.pk, Decimal("60.00"))
    ]


def test_only_projects_visited_are_scored(inspection, supervisor, project_b):
    with pytest.raises(services.RowErrors) as caught:
        services.inspection_set_scores(
            inspection=inspection, actor=supervisor, scores=[{"project": project_b, "score": 80}]
        )
    assert "0.project" in caught.value.message_dict
    assert not InspectionScore.objects.exists()


def test_a_project_scored_twice_is_refused(inspection, supervisor, project_a):
    rows = [{"project": project_a, "score": 80}, {"project": project_a, "score": 90}]
    with pytest.raises(services.RowErrors):
        services.inspection_set_scores(inspection=inspection, actor=supervisor, scores=rows)
    assert not InspectionScore.objects.exists()


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "unit_supervisor"])
def test_only_supervisors_score(request, inspection, project_a, persona):
    with pytest.raises(PermissionDenied):
        services.inspection_set_scores(
            inspection=inspection,
            actor=request.getfixturevalue(persona),
            scores=[{"project": project_a, "score": 80}],
        )
    assert not InspectionScore.objects.exists()


# ---------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------


def test_a_photo_is_stored_with_its_thumbnail(inspection, supervisor, project_a):
    photo = services.inspection_photo_add(
        inspection=inspection,
        upload=upload(jpeg_bytes((1600, 1200)), "工地.png"),  # the name proves nothing
        actor=supervisor,
        caption=" 扬尘管控不到位 ",
        project=project_a,
    )
    assert photo.caption == "扬尘管控不到位"
    assert photo.image.name.endswith(".jpg")
    assert photo.thumbnail.name.endswith("_thumb.jpg")
    assert len(media_files()) == 2
    assert Inspection.objects.get(pk=inspection.pk).version == 2


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    "content", [pdf(), jpeg_bytes()[:400], b""], ids=["pdf", "truncated", "empty"]
)
def test_a_refused_photo_stores_nothing(inspection, supervisor, content):
    with pytest.raises(ValidationError) as caught:
        services.inspection_photo_add(
            inspection=inspection, upload=upload(content, "现场.jpg"), actor=supervisor
        )
    assert "现场.jpg" in caught.value.messages[0]
    assert not InspectionPhoto.objects.exists()
    assert media_files() == []
    assert Inspection.objects.get(pk=inspection.pk).version == 1


def test_a_photo_of_a_project_not_visited_is_refused(inspection, supervisor, project_b):
    with pytest.raises(ValidationError) as caught:
        services.inspection_photo_add(
            inspection=inspection, upload=upload(jpeg_bytes()), actor=supervisor, project=project_b
        )
    assert "project" in caught.value.message_dict
    assert media_files() == []


def test_photo_limit(inspection, supervisor, monkeypatch):
    monkeypatch.setattr(services, "PHOTOS_PER_INSPECTION", 1)
    services.inspection_photo_add(
        inspection=inspection, upload=upload(jpeg_bytes()), actor=supervisor
    )
    with pytest.raises(ValidationError):
        services.inspection_photo_add(
            inspection=inspection, upload=upload(jpeg_bytes()), actor=supervisor
        )
    assert InspectionPhoto.objects.count() == 1
    assert len(media_files()) == 2


def test_removing_a_photo_deletes_its_files_once_committed(
    inspection, supervisor, reporter_a, django_capture_on_commit_callbacks
):
    photo = services.inspection_photo_add(
        inspection=inspection, upload=upload(jpeg_bytes()), actor=supervisor
    )
    with pytest.raises(PermissionDenied):
        services.inspection_photo_remove(photo=photo, actor=reporter_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.inspection_photo_remove(photo=photo, actor=supervisor)
    assert not InspectionPhoto.objects.exists()
    assert media_files() == []


# ---------------------------------------------------------------------------------------------
# Raising issues from the findings, several at once
# ---------------------------------------------------------------------------------------------


def test_several_findings_become_issues_in_one_step(
    inspection, supervisor, unit_a, unit_b, project_a, today
):
    issues = services.inspection_raise_issues(
        inspection=inspection,
        actor=supervisor,
        issues=[
            issue_row(unit_a, today + dt.timedelta(days=30), project=project_a),
            issue_row(
                unit_b,
                today + dt.timedelta(days=15),
                title="扬尘管控不到位",
                category="construction",
            ),
        ],
    )
    assert len(issues) == 2
    rows = Issue.objects.order_by("id").values_list(
        "title", "source", "inspection", "unit", "deadline", "status", "created_by"
    )
    assert list(rows) == [
        (
            "征地拆迁进度滞后",
            "inspection",
            inspection.pk,
            unit_a.pk,
            today + dt.timedelta(days=30),
            "open",
            supervisor.pk,
        ),
        (
            "扬尘管控不到位",
            "inspection",
            inspection.pk,
            unit_b.pk,
            today + dt.timedelta(days=15),
            "open",
            supervisor.pk,
        ),
    ]
    assert Inspection.objects.get(pk=inspection.pk).version == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"deadline": dt.date(2026, 11, 1)}, "deadline"),
        ({"deadline": None}, "deadline"),
        ({"unit": None}, "unit"),
        ({"title": "  "}, "title"),
        ({"category": "weather"}, "category"),
    ],
)
def test_one_bad_row_and_nothing_is_raised(inspection, supervisor, unit_a, today, bad, field):
    good = issue_row(unit_a, today + dt.timedelta(days=30))
    with pytest.raises(services.RowErrors) as caught:
        services.inspection_raise_issues(
            inspection=inspection,
            actor=supervisor,
            issues=[good, {**good, **bad}, good],
        )
    assert list(caught.value.rows) == [1]
    assert f"1.{field}" in caught.value.message_dict
    assert not Issue.objects.exists()
    assert Inspection.objects.get(pk=inspection.pk).version == 1


def test_a_row_for_a_unit_out_of_reach_is_a_row_error(
    inspection, supervisor, unit_a, today, stranger
):
    other = stranger.memberships.get().unit
    rows = [
        issue_row(unit_a, today + dt.timedelta(days=9)),
        issue_row(other, today + dt.timedelta(days=9)),
    ]
    with pytest.raises(services.RowErrors) as caught:
        services.inspection_raise_issues(inspection=inspection, actor=supervisor, issues=rows)
    assert "1.unit" in caught.value.message_dict
    assert not Issue.objects.exists()


def test_an_empty_batch_is_refused(inspection, supervisor):
    with pytest.raises(ValidationError):
        services.inspection_raise_issues(inspection=inspection, actor=supervisor, issues=[])


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "unit_supervisor"])
def test_only_supervisors_raise_from_an_inspection(request, inspection, unit_b, today, persona):
    with pytest.raises(PermissionDenied):
        services.inspection_raise_issues(
            inspection=inspection,
            actor=request.getfixturevalue(persona),
            issues=[issue_row(unit_b, today + dt.timedelta(days=9))],
        )
    assert not Issue.objects.exists()


# ---------------------------------------------------------------------------------------------
# Pages: who sees and writes what
# ---------------------------------------------------------------------------------------------

# persona → (listed, detail, may write)
PAGE_MATRIX = [
    ("reporter_a", True, 200, False),  # its unit was visited
    ("head_a", True, 200, False),
    ("reporter_b", False, 404, False),  # not concerned
    ("leader", True, 200, False),  # the county's leader reads
    ("supervisor", True, 200, True),
    ("unit_supervisor", False, 404, False),  # supervises another department only
    ("stranger", False, 404, False),  # supervisor of another county
]


@pytest.mark.parametrize(("persona", "listed", "detail", "writes"), PAGE_MATRIX)
def test_pages_by_persona(client, request, inspection, persona, listed, detail, writes):
    login(client, request, persona)
    listing = client.get("/supervision/inspections/")
    assert listing.status_code == 200
    assert (inspection.title in listing.content.decode()) is listed
    page = client.get(f"/supervision/inspections/{inspection.pk}/")
    assert page.status_code == detail
    if detail == 200:
        html = page.content.decode()
        assert "征地拆迁进度滞后" in html
        assert (f"/supervision/inspections/{inspection.pk}/issues/" in html) is writes
        assert (f"/supervision/inspections/{inspection.pk}/edit/" in html) is writes
    edit = client.get(f"/supervision/inspections/{inspection.pk}/edit/")
    assert edit.status_code == (200 if writes else 403 if detail == 200 else 404)
    new = client.get("/supervision/inspections/new/")
    assert new.status_code == (
        200 if persona in {"supervisor", "unit_supervisor", "stranger"} else 403
    )


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "reporter_b", "stranger"])
def test_no_write_without_the_right(client, request, inspection, project_a, unit_a, today, persona):
    login(client, request, persona)
    status = 404 if persona in {"reporter_b", "stranger"} else 403
    base = f"/supervision/inspections/{inspection.pk}"
    data = formset_data(
        "issues",
        [{"title": "问题", "category": "other", "unit": unit_a.pk, "deadline": "2026-12-30"}],
    )
    assert client.post(f"{base}/issues/", data).status_code == status
    scores = {
        "scores-TOTAL_FORMS": "1",
        "scores-INITIAL_FORMS": "1",
        "scores-0-project": project_a.pk,
        "scores-0-score": "90",
    }
    assert client.post(f"{base}/scores/", scores).status_code == status
    assert client.post(f"{base}/photos/", {"photos": upload(jpeg_bytes())}).status_code == status
    assert client.post(f"{base}/edit/", {"title": "改"}).status_code == status
    assert not Issue.objects.exists() and not InspectionScore.objects.exists()
    assert not InspectionPhoto.objects.exists()
    assert Inspection.objects.get(pk=inspection.pk).version == 1


def test_anonymous_is_sent_to_log_in(client, inspection):
    for url in (
        "/supervision/inspections/",
        "/supervision/inspections/new/",
        f"/supervision/inspections/{inspection.pk}/",
        f"/supervision/inspections/{inspection.pk}/edit/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post(f"/supervision/inspections/{inspection.pk}/issues/", {})
    assert response.status_code == 302


def test_create_and_edit_through_the_pages(client, supervisor, county, unit_a, project_a, today):
    client.force_login(supervisor)
    data = {
        "title": "“三个一批”项目暗访",
        "kind": "unannounced",
        "held_on": (today - dt.timedelta(days=1)).isoformat(),
        "unit": county.pk,
        "inspectors": "谭建军",
        "projects": [project_a.pk],
        "units_visited": [unit_a.pk],
        "findings": "现场无人施工。",
    }
    response = client.post("/supervision/inspections/new/", data)
    inspection = Inspection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/supervision/inspections/{inspection.pk}/"
    assert (inspection.kind, inspection.created_by) == ("unannounced", supervisor)
    edit = client.post(
        f"/supervision/inspections/{inspection.pk}/edit/",
        {**data, "findings": "现场无人施工，塔吊停用。", "version": 1},
    )
    assert edit.status_code == 302
    inspection.refresh_from_db()
    assert (inspection.findings, inspection.version) == ("现场无人施工，塔吊停用。", 2)
    # A stale version: nothing saved, what was typed is shown again.
    stale = client.post(
        f"/supervision/inspections/{inspection.pk}/edit/",
        {**data, "findings": "我的修改", "version": 1},
    )
    assert stale.status_code == 200
    assert "我的修改" in stale.content.decode()
    assert 'id="conflict"' in stale.content.decode()
    assert Inspection.objects.get(pk=inspection.pk).findings == "现场无人施工，塔吊停用。"


def test_a_bad_form_keeps_what_was_typed(client, supervisor, county, today):
    client.force_login(supervisor)
    response = client.post(
        "/supervision/inspections/new/",
        {
            "title": "节后复工督查",
            "kind": "regular",
            "held_on": (today + dt.timedelta(days=5)).isoformat(),
            "unit": county.pk,
            "inspectors": "谭建军",
        },
    )
    assert response.status_code == 200
    assert "节后复工督查" in response.content.decode()
    assert response.context["form"].errors["held_on"]
    assert not Inspection.objects.exists()


def test_the_formset_raises_every_filled_row(
    client, inspection, supervisor, unit_a, unit_b, project_a
):
    client.force_login(supervisor)
    rows = [
        {
            "title": "征地滞后",
            "category": "land_acquisition",
            "project": project_a.pk,
            "deadline": "2026-12-31",
        },
        {
            "title": "扬尘",
            "category": "construction",
            "unit": unit_b.pk,
            "deadline": "2026-12-15",
            "requirement": "立即整改",
        },
    ]
    response = client.post(
        f"/supervision/inspections/{inspection.pk}/issues/", formset_data("issues", rows, total=4)
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#issues")
    issues = list(Issue.objects.order_by("id"))
    # No unit named: the project's responsible unit.
    assert [(i.title, i.unit_id, i.project_id) for i in issues] == [
        ("征地滞后", unit_a.pk, project_a.pk),
        ("扬尘", unit_b.pk, None),
    ]
    assert all(i.inspection_id == inspection.pk for i in issues)
    page = client.get(f"/supervision/inspections/{inspection.pk}/").content.decode()
    assert f"/supervision/issues/{issues[0].pk}/" in page


def test_the_formset_keeps_every_row_when_one_is_bad(client, inspection, supervisor, unit_a):
    client.force_login(supervisor)
    rows = [
        {"title": "第一条问题", "category": "other", "unit": unit_a.pk, "deadline": "2026-12-31"},
        {"title": "第二条问题", "category": "other", "unit": unit_a.pk, "deadline": "2026-01-01"},
    ]
    response = client.post(
        f"/supervision/inspections/{inspection.pk}/issues/", formset_data("issues", rows)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "第一条问题" in html and "第二条问题" in html
    formset = response.context["issue_formset"]
    assert not formset.forms[0].errors and formset.forms[1].errors["deadline"]
    assert not Issue.objects.exists()


def test_a_blank_formset_is_refused(client, inspection, supervisor):
    client.force_login(supervisor)
    response = client.post(
        f"/supervision/inspections/{inspection.pk}/issues/", formset_data("issues", [])
    )
    assert response.status_code == 200
    assert response.context["issue_formset"].non_form_errors()
    assert not Issue.objects.exists()


def test_tied_scores_share_a_rank_on_the_page(
    client, inspection, supervisor, reporter_a, unit_a, project_a, project_b
):
    """观摩评比 ranks like the rankings do: equal scores share a rank, the next skips."""
    more = [
        factories.create_project(actor=reporter_a, lead_unit=unit_a, name=name)
        for name in ("产业园标准厂房", "污水处理厂")
    ]
    projects = [project_a, project_b, *more]
    services.inspection_update(inspection=inspection, actor=supervisor, projects=projects)
    sheet = zip(projects, ("85", "90", "80", "85"), strict=True)
    services.inspection_set_scores(
        inspection=inspection,
        actor=supervisor,
        scores=[{"project": p, "score": Decimal(v)} for p, v in sheet],
    )
    client.force_login(reporter_a)
    page = client.get(f"/supervision/inspections/{inspection.pk}/").content.decode()
    table = page[page.index('id="scores"') :]
    rows = re.findall(r'<td class="num"[^>]*>(\d+)</td><td><a href="[^"]+">([^<]+)</a>', table)
    assert [(int(rank), score_of) for rank, score_of in rows] == [
        (1, project_b.name),
        (2, project_a.name),  # 85, recorded first
        (2, "污水处理厂"),  # 85
        (4, "产业园标准厂房"),  # 80
    ]


def test_scores_through_the_page(client, scored, supervisor, project_a, project_b):
    client.force_login(supervisor)
    page = client.get(f"/supervision/inspections/{scored.pk}/")
    forms_ = page.context["score_formset"].forms
    order = [f.initial["project"] for f in forms_]
    data = {"scores-TOTAL_FORMS": "2", "scores-INITIAL_FORMS": "2"}
    values = {project_a.pk: ("95.5", "样板工程"), project_b.pk: ("101", "")}
    for index, pk in enumerate(order):
        data[f"scores-{index}-project"] = pk
        data[f"scores-{index}-score"], data[f"scores-{index}-comment"] = values[pk]
    bad = client.post(f"/supervision/inspections/{scored.pk}/scores/", data)
    assert bad.status_code == 200
    assert "样板工程" in bad.content.decode()
    assert not InspectionScore.objects.exists()
    data[f"scores-{order.index(project_b.pk)}-score"] = "78"
    good = client.post(f"/supervision/inspections/{scored.pk}/scores/", data)
    assert good.status_code == 302
    assert dict(InspectionScore.objects.values_list("project", "score")) == {
        project_a.pk: Decimal("95.50"),
        project_b.pk: Decimal("78.00"),
    }


def test_photos_through_the_page(client, inspection, supervisor, reporter_a, reporter_b, project_a):
    client.force_login(supervisor)
    response = client.post(
        f"/supervision/inspections/{inspection.pk}/photos/",
        {
            "photos": [upload(jpeg_bytes(), "一.jpg"), upload(pdf(), "二.jpg")],
            "caption": "现场",
            "project": project_a.pk,
        },
    )
    # The good photo is kept, the refused one is named, the caption is still there.
    assert response.status_code == 200
    html = response.content.decode()
    assert "二.jpg" in html and 'value="现场"' in html
    photo = InspectionPhoto.objects.get()
    assert (photo.caption, photo.project) == ("现场", project_a)
    for user, status in ((reporter_a, 200), (reporter_b, 404)):
        client.force_login(user)
        for variant in ("thumb", "full"):
            got = client.get(f"/supervision/inspection-photos/{photo.pk}/{variant}/")
            assert got.status_code == status
            if status == 200:
                assert b"".join(got.streaming_content)[:2] == b"\xff\xd8"
    client.force_login(supervisor)
    removed = client.post(f"/supervision/inspections/{inspection.pk}/photos/{photo.pk}/remove/")
    assert removed.status_code == 302
    assert not InspectionPhoto.objects.exists()


def test_list_filters(client, inspection, supervisor, county, unit_b, today):
    other = services.inspection_create(
        actor=supervisor,
        title="水利项目暗访",
        kind="unannounced",
        held_on=today - dt.timedelta(days=40),
        unit=county,
        inspectors="甲",
        units_visited=[unit_b],
    )
    client.force_login(supervisor)

    def titles(query: str) -> set[str]:
        page = client.get(f"/supervision/inspections/?{query}")
        return {i.title for i in page.context["page_obj"]}

    assert titles("") == {inspection.title, other.title}
    assert titles("kind=unannounced") == {other.title}
    assert titles(f"unit={unit_b.pk}") == {other.title}
    assert titles(f"held_on_after={(today - dt.timedelta(days=10)).isoformat()}") == {
        inspection.title
    }
    assert titles(f"held_on_before={(today - dt.timedelta(days=10)).isoformat()}") == {other.title}


def test_list_runs_a_fixed_number_of_queries(client, supervisor, county, unit_a, project_a, today):
    def add(n: int) -> None:
        for index in range(n):
            made = services.inspection_create(
                actor=supervisor,
                title=f"督查{index}",
                kind="regular",
                held_on=today,
                unit=county,
                inspectors="甲",
                projects=[project_a],
                units_visited=[unit_a],
            )
            services.inspection_raise_issues(
                inspection=made,
                actor=supervisor,
                issues=[issue_row(unit_a, today + dt.timedelta(days=5))],
            )

    client.force_login(supervisor)
    add(2)
    few = count_queries(client, "/supervision/inspections/", cache_state="warm")
    add(18)
    assert count_queries(client, "/supervision/inspections/", cache_state="warm") == few
    assert few <= 8


def test_detail_runs_a_bounded_number_of_queries(
    client, inspection, supervisor, unit_a, project_a, today
):
    client.force_login(supervisor)
    services.inspection_raise_issues(
        inspection=inspection,
        actor=supervisor,
        issues=[issue_row(unit_a, today + dt.timedelta(days=5))],
    )
    few = count_queries(client, f"/supervision/inspections/{inspection.pk}/", cache_state="warm")
    for n in range(5):
        project = factories.create_project(actor=supervisor, lead_unit=unit_a, name=f"项目{n}")
        inspection.projects.add(project)
        services.inspection_raise_issues(
            inspection=inspection,
            actor=supervisor,
            issues=[issue_row(unit_a, today + dt.timedelta(days=5), project=project)],
        )
    assert (
        count_queries(client, f"/supervision/inspections/{inspection.pk}/", cache_state="warm")
        == few
    )


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "seen"),
    [
        ("reporter_a", True),
        ("reporter_b", False),
        ("leader", True),
        ("supervisor", True),
        ("stranger", False),
    ],
)
def test_api_by_persona(client, request, inspection, persona, seen):
    auth = bearer(make_token(request.getfixturevalue(persona)))
    body = client.get("/api/v1/inspections/", headers=auth).json()
    assert body["count"] == (1 if seen else 0)
    detail = client.get(f"/api/v1/inspections/{inspection.pk}/", headers=auth)
    if seen:
        assert detail.status_code == 200
        assert detail["ETag"] == '"1"'
    else:
        assert_error(detail, 404, "not_found")


def test_api_needs_authentication(client, inspection):
    assert_error(client.get("/api/v1/inspections/"), 401, "not_authenticated")
    assert_error(client.get(f"/api/v1/inspections/{inspection.pk}/"), 401, "not_authenticated")


def test_api_shape(client, inspection, supervisor, reporter_a, unit_a, project_a, today):
    services.inspection_set_scores(
        inspection=inspection,
        actor=supervisor,
        scores=[{"project": project_a, "score": "86.5", "comment": "良"}],
    )
    photo = services.inspection_photo_add(
        inspection=inspection,
        upload=upload(jpeg_bytes()),
        actor=supervisor,
        caption="现场",
        project=project_a,
    )
    [issue] = services.inspection_raise_issues(
        inspection=inspection,
        actor=supervisor,
        issues=[issue_row(unit_a, today + dt.timedelta(days=5))],
    )
    auth = bearer(make_token(reporter_a))
    body = client.get(f"/api/v1/inspections/{inspection.pk}/", headers=auth).json()
    assert body == {
        "id": inspection.pk,
        "title": inspection.title,
        "kind": "special",
        "held_on": (today - dt.timedelta(days=3)).isoformat(),
        "unit": inspection.unit_id,
        "inspectors": "谭建军、冉晓梅",
        "projects": [project_a.pk],
        "units_visited": [unit_a.pk],
        "findings": inspection.findings,
        "scores": [{"project": project_a.pk, "score": "86.50", "comment": "良"}],
        "photos": [
            {
                "id": photo.pk,
                "project": project_a.pk,
                "caption": "现场",
                "taken_at": None,
                "image": f"http://testserver/supervision/inspection-photos/{photo.pk}/full/",
                "thumbnail": f"http://testserver/supervision/inspection-photos/{photo.pk}/thumb/",
            }
        ],
        "issues": [issue.pk],
        "version": 4,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_api_filters(client, inspection, supervisor, county, unit_b, today):
    other = services.inspection_create(
        actor=supervisor,
        title="暗访",
        kind="unannounced",
        held_on=today - dt.timedelta(days=40),
        unit=county,
        inspectors="甲",
        units_visited=[unit_b],
    )
    auth = bearer(make_token(supervisor))

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/inspections/?{query}", headers=auth)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("kind=unannounced") == {other.pk}
    assert ids(f"unit={unit_b.pk}") == {other.pk}
    assert ids(f"held_on_after={(today - dt.timedelta(days=10)).isoformat()}") == {inspection.pk}
    assert ids("updated_since=2026-11-21T00:00:00%2B08:00") == {inspection.pk, other.pk}
    assert ids("updated_since=2026-11-22T00:00:00%2B08:00") == set()
    assert_error(client.get("/api/v1/inspections/?kind=party", headers=auth), 400, "invalid")


def test_api_list_runs_a_fixed_number_of_queries(
    client, supervisor, county, unit_a, project_a, today
):
    auth = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=auth)  # the token's first use is recorded once

    def add(n: int) -> None:
        for index in range(n):
            made = services.inspection_create(
                actor=supervisor,
                title=f"督查{index}",
                kind="regular",
                held_on=today,
                unit=county,
                inspectors="甲",
                projects=[project_a],
                units_visited=[unit_a],
            )
            services.inspection_set_scores(
                inspection=made, actor=supervisor, scores=[{"project": project_a, "score": 80}]
            )
            services.inspection_raise_issues(
                inspection=made,
                actor=supervisor,
                issues=[issue_row(unit_a, today + dt.timedelta(days=5))],
            )

    add(2)
    few = count_queries(client, "/api/v1/inspections/", headers=auth, cache_state="warm")
    add(18)
    assert count_queries(client, "/api/v1/inspections/", headers=auth, cache_state="warm") == few
