"""The Django admin, in Chinese, usable to set up a county."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from projects.models import Project, StageChange, Unit

PROJECT_MODELS = [
    m for m in admin.site._registry if m._meta.app_label in ("projects", "supervision")
]
# Records that only the platform writes (revisions, stage logs, computed rankings and alerts,
# delivery attempts) and issues, which are raised with their rules on the ledger's pages: the
# admin shows them but offers no "add", even to a superuser.
NO_ADD_IN_ADMIN = {
    "MilestoneRevision",
    "StageChange",
    "RankingSnapshot",
    "Alert",
    "WebhookDelivery",
    "Issue",
}


@pytest.fixture
def admin_client_zh(client, county):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pass12345")
    client.force_login(user)
    return client


def test_every_domain_model_is_in_the_admin():
    names = {m.__name__ for m in PROJECT_MODELS}
    assert names >= {
        "Unit",
        "Membership",
        "Leader",
        "Project",
        "Milestone",
        "MilestoneRevision",
        "ProgressReport",
        "ProjectFunding",
        "FundingApplication",
        "Target",
        "StageChange",
        "Tag",
    }


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda m: m.__name__)
def test_admin_pages_open_in_chinese(admin_client_zh, project_a, model):
    opts = model._meta
    changelist = admin_client_zh.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    )
    assert changelist.status_code == 200
    assert "平台管理" in changelist.content.decode()
    assert str(opts.verbose_name_plural) in changelist.content.decode()
    add = admin_client_zh.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == (403 if model.__name__ in NO_ADD_IN_ADMIN else 200)


def test_admin_index_lists_the_domain_in_chinese(admin_client_zh):
    page = admin_client_zh.get(reverse("admin:index")).content.decode()
    for word in ("单位", "项目", "进度填报", "目标任务", "领导"):
        assert word in page


def test_project_created_in_the_admin_goes_through_the_services(admin_client_zh, unit_a):
    response = admin_client_zh.post(
        reverse("admin:projects_project_add"),
        {
            "name": "县城污水处理厂提标改造",
            "kind": "project",
            "level": "county",
            "category": "ecology",
            "source": "government",
            "lead_unit": unit_a.pk,
            "total_investment": "8600",
            "prior_investment": "0",
            "stage": "reserve",
            "year_plans-TOTAL_FORMS": "0",
            "year_plans-INITIAL_FORMS": "0",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
            "funding-TOTAL_FORMS": "0",
            "funding-INITIAL_FORMS": "0",
            "stage_changes-TOTAL_FORMS": "0",
            "stage_changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(name="县城污水处理厂提标改造")
    assert project.created_by.username == "root"
    assert StageChange.objects.filter(project=project, to_stage="reserve").exists()
    assert project.history.get().history_user.username == "root"


def test_units_can_be_built_in_the_admin(admin_client_zh, county):
    response = admin_client_zh.post(
        reverse("admin:projects_unit_add"),
        {
            "name": "新区管委会",
            "kind": "zone",
            "parent": county.pk,
            "sort_order": "0",
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    zone = Unit.objects.get(name="新区管委会")
    assert zone.path == f"{county.path}{zone.pk}/"


def test_memberships_are_set_on_the_user_page(admin_client_zh, unit_a):
    user = get_user_model().objects.create_user("clerk", password="pass12345")
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = admin_client_zh.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: form.initial.get(name, "")
        for name in ("username", "first_name", "last_name", "email", "date_joined_0")
    }
    data.update(
        {
            "username": "clerk",
            "is_active": "on",
            "date_joined_0": "2026-11-21",
            "date_joined_1": "09:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-unit": unit_a.pk,
            "memberships-0-role": "reporter",
        }
    )
    response = admin_client_zh.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(user.memberships.values_list("unit__name", "role")) == [("交通运输局", "reporter")]


def test_a_ranking_scheme_is_set_up_in_the_admin(admin_client_zh, county):
    from supervision.models import RankingScheme

    data = {
        "name": "乡镇季度排名",
        "parent_unit": county.pk,
        "child_kinds": ["township", "zone"],
        "cadence": "quarter",
        "top_count": 3,
        "bottom_count": 2,
        "co_unit_weight": "0.5",
        "starts_on": "2026-01-01",
        "is_active": "on",
        "sort_order": 0,
        "metrics-TOTAL_FORMS": 2,
        "metrics-INITIAL_FORMS": 0,
        "metrics-0-metric": "investment_rate",
        "metrics-0-weight": "60",
        "metrics-0-direction": "",
        "metrics-0-sort_order": 0,
        "metrics-1-metric": "red_cards",
        "metrics-1-weight": "40",
        "metrics-1-direction": "",
        "metrics-1-sort_order": 1,
        "exemptions-TOTAL_FORMS": 0,
        "exemptions-INITIAL_FORMS": 0,
    }
    url = reverse("admin:supervision_rankingscheme_add")
    response = admin_client_zh.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    scheme = RankingScheme.objects.get(name="乡镇季度排名")
    assert scheme.child_kinds == ["township", "zone"]
    assert dict(scheme.metrics.values_list("metric", "weight")) == {
        "investment_rate": 60,
        "red_cards": 40,
    }
    # No kind chosen: the form says so in Chinese and nothing is saved.
    response = admin_client_zh.post(url, {**data, "name": "空方案", "child_kinds": []})
    assert response.status_code == 200
    assert "这个字段是必填项" in response.content.decode()
    assert not RankingScheme.objects.filter(name="空方案").exists()


@pytest.mark.parametrize("model", ["inspection", "meeting"])
def test_a_documents_title_is_not_a_persons_job_title(admin_client_zh, model):
    """“title” alone is a person's job title (职务, on leaders); a document's is 标题."""
    form = admin_client_zh.get(reverse(f"admin:supervision_{model}_add"))
    assert form.status_code == 200
    page = form.content.decode()
    assert '<label class="required" for="id_title">标题' in page
    assert "职务" not in page


def _change_form_data(client, url: str, **changes) -> dict:
    """The admin change form as the page shows it, with ``changes`` typed in."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = changes.get(name, form[name].value())
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


@pytest.mark.parametrize("kind", ["milestone", "funding"])
def test_an_admin_edit_gives_the_record_its_next_version(
    admin_client_zh, project_a, reporter_a, today, kind
):
    """An API client or a page still holding the previous version is then refused, instead of
    silently overwriting what the administrator changed."""
    from decimal import Decimal

    from projects import services
    from projects.models import Milestone, ProjectFunding
    from tests import factories
    from tests.support.api import bearer, make_token

    if kind == "milestone":
        record = factories.create_milestone(project=project_a, actor=reporter_a, due_date=today)
        url = reverse("admin:projects_milestone_change", args=[record.pk])
        changes = {"name": "改名后的节点"}
        api = f"/api/v1/milestones/{record.pk}/complete/"
        patch = {"done_date": today.isoformat()}
    else:
        record = services.funding_set(
            project=project_a,
            source="county_fiscal",
            planned=Decimal("100"),
            arrived=Decimal("10"),
            actor=reporter_a,
        )
        url = reverse("admin:projects_projectfunding_change", args=[record.pk])
        changes = {"arrived": "20.00"}
        api = f"/api/v1/project-funding/{record.pk}/"
        patch = {"arrived": "30.00"}
    before = record.version
    response = admin_client_zh.post(url, _change_form_data(admin_client_zh, url, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    model = Milestone if kind == "milestone" else ProjectFunding
    saved = model.objects.get(pk=record.pk)
    assert saved.version == before + 1
    assert saved.history.first().history_user.username == "root"
    stale = (admin_client_zh.post if kind == "milestone" else admin_client_zh.patch)(
        api,
        patch,
        content_type="application/json",
        headers={**bearer(make_token(reporter_a, write=True)), "If-Match": f'"{before}"'},
    )
    assert stale.status_code in (409, 412), stale.content[:300]
    assert model.objects.get(pk=record.pk).version == before + 1
