"""The staff workspace pages and forms: who may see and do what, and what the database says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from projects import services
from projects.models import Milestone, ProgressReport, Project, ReportStatus, StageChange
from tests import factories

OCT = "2026-10"


def logged_in(client, user):
    """The test client, logged in as ``user``."""
    client.force_login(user)
    return client


def report_url(project, period=OCT):
    return reverse("report_form", args=[project.pk, period])


REPORT_DATA = {
    "investment": "350.5",
    "physical_progress": "路基完成70%",
    "problems": "无",
    "next_steps": "桥梁下部结构施工",
}


# --- pages: anonymous → login; other unit → 404; own unit, supervisor, leader → 200 ------------


@pytest.mark.parametrize(
    "url_name", ["project_detail", "project_edit", "report_form", "home", "project_create"]
)
def test_anonymous_is_sent_to_login(client, project_a, url_name):
    args = {
        "project_detail": [project_a.pk],
        "project_edit": [project_a.pk],
        "report_form": [project_a.pk, OCT],
    }.get(url_name, [])
    url = reverse(url_name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    ("persona", "detail", "edit", "report"),
    [
        ("reporter_b", 404, 404, 404),
        ("reporter_a", 200, 200, 200),
        ("head_a", 200, 200, 200),
        ("supervisor", 200, 200, 200),
        ("leader", 200, 403, 200),
    ],
)
def test_page_matrix(client, request, project_a, persona, detail, edit, report):
    logged_in(client, request.getfixturevalue(persona))
    assert client.get(reverse("project_detail", args=[project_a.pk])).status_code == detail
    assert client.get(reverse("project_edit", args=[project_a.pk])).status_code == edit
    assert client.get(report_url(project_a)).status_code == report


def test_leader_sees_the_report_read_only(client, leader, project_a):
    page = logged_in(client, leader).get(report_url(project_a)).content.decode()
    assert 'id="report-form"' not in page
    response = client.post(report_url(project_a), {**REPORT_DATA, "action": "save"})
    assert response.status_code == 403
    assert not ProgressReport.objects.exists()


def test_bad_periods_are_not_found(client, reporter_a, project_a):
    logged_in(client, reporter_a)
    for period in ("2026-13", "2026-Q3", "2027-01", "garbage"):
        assert client.get(report_url(project_a, period)).status_code == 404


# --- actions: other unit refused and nothing changes --------------------------------------------


def test_other_unit_cannot_act_on_the_project(client, reporter_b, project_a, reporter_a):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 12, 1)
    )
    logged_in(client, reporter_b)
    posts = [
        (reverse("project_edit", args=[project_a.pk]), {"name": "篡改"}),
        (
            reverse("project_stage", args=[project_a.pk]),
            {"to_stage": "preparing", "changed_on": "2026-11-21"},
        ),
        (
            reverse("milestone_complete", args=[project_a.pk, milestone.pk]),
            {"done_date": "2026-11-20", "version": 1},
        ),
        (
            reverse("milestone_revise", args=[project_a.pk, milestone.pk]),
            {"new_due_date": "2027-01-01", "reason": "x", "version": 1},
        ),
        (report_url(project_a), {**REPORT_DATA, "action": "submit"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    project_a.refresh_from_db()
    milestone.refresh_from_db()
    assert project_a.name == "城区至园区公路改扩建" and project_a.stage == "reserve"
    assert milestone.done_date is None and milestone.due_date == dt.date(2026, 12, 1)
    assert not ProgressReport.objects.exists()


def test_stage_change_and_milestones_through_the_page(client, reporter_a, project_a):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 12, 1)
    )
    logged_in(client, reporter_a)
    client.post(
        reverse("project_stage", args=[project_a.pk]),
        {"to_stage": "preparing", "changed_on": "2026-11-21", "note": "可研已批复"},
    )
    assert StageChange.objects.filter(project=project_a, to_stage="preparing").exists()
    response = client.post(
        reverse("milestone_revise", args=[project_a.pk, milestone.pk]),
        {"new_due_date": "2027-01-15", "reason": "", "version": 1},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "这个字段是必填项" in page
    assert 'value="2027-01-15"' in page  # the date the user typed is kept
    response = client.post(
        reverse("project_stage", args=[project_a.pk]),
        {"to_stage": "under_construction", "changed_on": "2026-11-25", "note": "提前录入"},
    )
    page = response.content.decode()
    assert "不能晚于今天" in page and "提前录入" in page
    assert not StageChange.objects.filter(project=project_a, to_stage="under_construction").exists()
    client.post(
        reverse("milestone_revise", args=[project_a.pk, milestone.pk]),
        {"new_due_date": "2027-01-15", "reason": "用地报批延后", "version": 1},
    )
    client.post(
        reverse("milestone_complete", args=[project_a.pk, milestone.pk]),
        {"done_date": "2026-11-21", "version": 2},
    )
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2027, 1, 15)
    assert milestone.done_date == dt.date(2026, 11, 21)
    page = client.get(reverse("project_detail", args=[project_a.pk])).content.decode()
    assert "用地报批延后" in page and "2026-12-01" in page and "可研已批复" in page


def test_project_create_and_edit(client, reporter_a, unit_a, unit_b):
    logged_in(client, reporter_a)
    data = {
        "name": "工业园区标准厂房",
        "kind": "project",
        "level": "county",
        "category": "industry",
        "source": "government",
        "lead_unit": unit_a.pk,
        "total_investment": "26000",
        "prior_investment": "0",
    }
    response = client.post(reverse("project_create"), data)
    project = Project.objects.get(name="工业园区标准厂房")
    assert response["Location"] == reverse("project_detail", args=[project.pk])
    assert project.created_by == reporter_a and project.stage == "reserve"
    # A unit outside the reporter's scope is not a valid choice.
    response = client.post(reverse("project_create"), {**data, "name": "x", "lead_unit": unit_b.pk})
    assert response.status_code == 200 and not Project.objects.filter(name="x").exists()
    response = client.post(
        reverse("project_edit", args=[project.pk]),
        {**data, "total_investment": "-5", "version": project.version},
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.total_investment == Decimal("26000")


def test_concurrent_project_edit_is_refused_and_shows_what_changed(
    client, reporter_a, supervisor, project_a, unit_a
):
    loaded_version = project_a.version
    services.project_update(project=project_a, actor=supervisor, owner="县交投集团")
    logged_in(client, reporter_a)
    response = client.post(
        reverse("project_edit", args=[project_a.pk]),
        {
            "name": "城区至园区公路改扩建（调整）",
            "kind": "project",
            "level": "county",
            "category": "transport",
            "source": "government",
            "lead_unit": unit_a.pk,
            "total_investment": "12000",
            "prior_investment": "0",
            "version": loaded_version,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="conflict"' in page and "县交投集团" in page
    assert "城区至园区公路改扩建（调整）" in page  # what the user typed is kept
    project_a.refresh_from_db()
    assert project_a.name == "城区至园区公路改扩建" and project_a.owner == "县交投集团"


# --- the report workflow through the pages -------------------------------------------------------


def test_report_workflow_through_the_pages(client, reporter_a, head_a, project_a):
    logged_in(client, reporter_a)
    client.post(report_url(project_a), {**REPORT_DATA, "action": "save"})
    report = ProgressReport.objects.get(project=project_a, period_key=OCT)
    assert report.status == ReportStatus.DRAFT and report.investment == Decimal("350.5")
    client.post(report_url(project_a), {**REPORT_DATA, "action": "submit", "version": 1})
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED

    # A reporter cannot review; the unit head returns it with a reason.
    review = reverse("report_review", args=[project_a.pk, OCT])
    assert (
        client.post(review, {"decision": "approve", "version": report.version}).status_code == 403
    )
    logged_in(client, head_a)
    client.post(review, {"decision": "return", "return_reason": "", "version": report.version})
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED  # no reason, no return
    client.post(
        review, {"decision": "return", "return_reason": "请补充照片", "version": report.version}
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED

    logged_in(client, reporter_a)
    page = client.get(report_url(project_a)).content.decode()
    assert "请补充照片" in page and 'id="report-form"' in page
    client.post(
        report_url(project_a),
        {**REPORT_DATA, "investment": "360", "action": "submit", "version": report.version},
    )
    logged_in(client, head_a)
    report.refresh_from_db()
    client.post(review, {"decision": "approve", "version": report.version})
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED and report.investment == Decimal("360")
    detail = client.get(reverse("project_detail", args=[project_a.pk])).content.decode()
    assert "360万元" in detail


def test_new_report_is_prefilled_from_the_last_one(client, reporter_a, project_a):
    services.report_save(
        project=project_a,
        period=__import__("tracker.periods", fromlist=["parse"]).parse("2026-09"),
        actor=reporter_a,
        investment=Decimal("100"),
        physical_progress="桩基完成",
        next_steps="墩柱施工",
    )
    page = logged_in(client, reporter_a).get(report_url(project_a)).content.decode()
    assert "桩基完成" in page and "墩柱施工" in page


def test_bad_report_input_changes_nothing(client, reporter_a, project_a):
    logged_in(client, reporter_a)
    for bad in ("-1", "abc", "1" * 20):
        response = client.post(
            report_url(project_a), {**REPORT_DATA, "investment": bad, "action": "submit"}
        )
        assert response.status_code == 200
        assert "路基完成70%" in response.content.decode()  # the user's text is kept
    assert not ProgressReport.objects.exists()


def test_concurrent_report_edit_is_refused(client, reporter_a, project_a):
    logged_in(client, reporter_a)
    client.post(report_url(project_a), {**REPORT_DATA, "action": "save"})
    client.post(report_url(project_a), {**REPORT_DATA, "investment": "400", "version": 1})
    response = client.post(
        report_url(project_a), {**REPORT_DATA, "investment": "999", "version": 1}
    )
    page = response.content.decode()
    assert 'id="conflict"' in page and "400" in page
    assert ProgressReport.objects.get().investment == Decimal("400")


# --- fixed query counts ----------------------------------------------------------------------


def _grow(unit, actor, n, start=0):
    for i in range(start, start + n):
        project = factories.create_project(actor=actor, lead_unit=unit, name=f"项目{i}")
        factories.create_milestone(project=project, actor=actor, due_date=dt.date(2026, 12, 1))


@pytest.mark.parametrize("url_name", ["home", "project_list"])
def test_list_pages_keep_a_fixed_number_of_queries(
    client, reporter_a, unit_a, url_name, django_assert_max_num_queries
):
    logged_in(client, reporter_a)
    _grow(unit_a, reporter_a, 5)
    client.get(reverse(url_name))
    with django_assert_max_num_queries(30) as small:
        client.get(reverse(url_name))
    _grow(unit_a, reporter_a, 45, start=5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(url_name)).status_code == 200


def test_project_page_keeps_a_fixed_number_of_queries(
    client, reporter_a, head_a, project_a, django_assert_max_num_queries
):
    from tracker import periods

    logged_in(client, reporter_a)
    url = reverse("project_detail", args=[project_a.pk])

    def add(n, first_month):
        for month in range(first_month, first_month + n):
            report = services.report_save(
                project=project_a,
                period=periods.parse(f"2026-{month:02d}"),
                actor=reporter_a,
                investment=Decimal(10),
            )
            services.report_submit(report=report, actor=reporter_a)
            milestone = factories.create_milestone(
                project=project_a,
                actor=reporter_a,
                due_date=dt.date(2026, month, 1),
                name=f"节点{month}",
            )
            services.milestone_revise(
                milestone=milestone,
                new_due_date=dt.date(2026, month, 2),
                reason="顺延",
                actor=reporter_a,
            )
            services.project_update(project=project_a, actor=head_a, owner=f"业主{month}")

    add(2, 1)
    client.get(url)
    with django_assert_max_num_queries(40) as small:
        client.get(url)
    add(8, 3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(url).content.decode()
    assert "节点10" in page and "业主10" in page


def test_home_shows_due_reports_milestones_and_lights(client, reporter_a, project_a, supervisor):
    factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 10, 1), name="可研批复"
    )
    from supervision.alerts import scan_alerts

    scan_alerts()  # the daily scan sets the lights
    page = logged_in(client, reporter_a).get("/").content.decode()
    assert "可研批复" in page and "逾期" in page
    assert reverse("report_form", args=[project_a.pk, "2026-11"]) in page
    assert 'class="light red"' in page  # overdue by more than 15 days
    assert Milestone.objects.count() == 1


@pytest.mark.parametrize(
    ("persona", "status", "changed"),
    [
        ("reporter_b", 404, False),
        ("leader", 403, False),
        ("reporter_a", 302, True),
        ("head_a", 302, True),
        ("supervisor", 302, True),
    ],
)
def test_action_matrix_stage_change(client, request, project_a, persona, status, changed):
    logged_in(client, request.getfixturevalue(persona))
    response = client.post(
        reverse("project_stage", args=[project_a.pk]),
        {"to_stage": "preparing", "changed_on": "2026-11-21"},
    )
    assert response.status_code == status
    project_a.refresh_from_db()
    assert (project_a.stage == "preparing") is changed
    assert StageChange.objects.filter(project=project_a).count() == (2 if changed else 1)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("reporter_b", 404),
        ("leader", 403),
        ("reporter_a", 403),
        ("head_a", 302),
        ("supervisor", 302),
    ],
)
def test_action_matrix_report_review(client, request, project_a, reporter_a, persona, status):
    from tracker import periods

    report = services.report_save(
        project=project_a, period=periods.parse(OCT), actor=reporter_a, investment=Decimal(5)
    )
    services.report_submit(report=report, actor=reporter_a)
    logged_in(client, request.getfixturevalue(persona))
    response = client.post(
        reverse("report_review", args=[project_a.pk, OCT]),
        {"decision": "approve", "version": 2},
    )
    assert response.status_code == status
    report.refresh_from_db()
    assert (report.status == ReportStatus.APPROVED) is (status == 302)


def test_photos_are_served_only_within_scope(client, reporter_a, reporter_b, leader, project_a):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from projects import photos
    from tracker import periods

    report = services.report_save(
        project=project_a, period=periods.parse(OCT), actor=reporter_a, investment=Decimal(5)
    )
    buffer = __import__("io").BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 60)).save(buffer, "JPEG")
    photo = photos.report_photo_add(
        report=report,
        upload=SimpleUploadedFile("site.jpg", buffer.getvalue(), "image/jpeg"),
        actor=reporter_a,
    )
    url = reverse("report_photo", args=[photo.pk, "thumb"])
    assert client.get(url).status_code == 302  # anonymous → login
    assert logged_in(client, reporter_b).get(url).status_code == 404
    response = logged_in(client, leader).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"  # a JPEG thumbnail


# --- references in the project form (docs/security.md) --------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        # 城关镇 sees 交通运输局's project, which lies in the township, but may not change it.
        ("township_reporter", 200),
        # 水利局 sees it as a cooperating unit, but may not change it.
        ("reporter_b", 200),
        ("reporter_a", 302),
    ],
)
def test_action_matrix_project_parent(
    client, request, project_a, unit_b, township, reporter_a, persona, status
):
    services.project_update(
        project=project_a, actor=reporter_a, township=township, cooperating_units=[unit_b]
    )
    user = request.getfixturevalue(persona)
    own_unit = user.memberships.get().unit
    own = factories.create_project(actor=user, lead_unit=own_unit, name="本单位项目")
    logged_in(client, user)
    data = {
        "name": own.name,
        "kind": own.kind,
        "level": own.level,
        "category": own.category,
        "source": own.source,
        "lead_unit": own_unit.pk,
        "total_investment": "12000",
        "prior_investment": "0",
        "version": own.version,
        "parent": project_a.pk,
    }
    response = client.post(reverse("project_edit", args=[own.pk]), data)
    assert response.status_code == status
    own.refresh_from_db()
    assert (own.parent_id == project_a.pk) is (status == 302)
    if status == 200:
        assert "parent" in response.context["form"].errors
        assert own.version == 1
