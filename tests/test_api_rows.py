"""Lists read from value rows (projects/api/rows.py) answer exactly what the serializer would."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers

from projects.api.resources import ProjectSerializer
from projects.api.rows import ValueRows, value_rows
from projects.models import Leader, Project, Tag
from tests import factories
from tests.support.api import assert_error, bearer, make_token


@pytest.fixture
def varied(today, county, unit_a, unit_b, reporter_a, project_a, project_b):
    """Projects with several tags, cooperating units and co-leaders each, inserted in an order
    that is not their listed order; blanks, nulls, decimals, a parent and a township."""
    township = factories.UnitFactory(name="龙河镇", kind="township", parent=county)
    leaders = [
        Leader.objects.create(name=f"领导{i}", title="副县长", unit=county, sort_order=9 - i)
        for i in range(3)
    ]
    tags = [Tag.objects.create(name=name) for name in ("乡村振兴", "民生实事", "三年行动")]
    project_a.tags.add(tags[1], tags[0], tags[2])
    project_a.co_leaders.add(leaders[0], leaders[2], leaders[1])
    project_a.cooperating_units.add(unit_b, township)
    Project.objects.filter(pk=project_a.pk).update(
        township=township,
        lead_leader=leaders[1],
        total_investment=Decimal("12345.67"),
        prior_investment=Decimal("0.50"),
        owner="县交投公司",
    )
    child = factories.create_project(actor=reporter_a, lead_unit=unit_a, name="支线工程")
    Project.objects.filter(pk=child.pk).update(
        parent=project_a, red_card=True, red_card_reason="逾期未开工"
    )
    child.tags.add(tags[2])
    return [project_a.pk, project_b.pk, child.pk]


def serializer_json(queryset) -> list[dict]:
    return json.loads(json.dumps(ProjectSerializer(queryset, many=True).data))


@pytest.mark.parametrize("query", ["", "&ordering=-name", "&stage=reserve", "&unit={unit_a}"])
def test_project_list_is_the_serializers_json(client, varied, supervisor, unit_a, query):
    headers = bearer(make_token(supervisor))
    response = client.get(
        f"/api/v1/projects/?page_size=500{query.format(unit_a=unit_a.pk)}", headers=headers
    )
    assert response.status_code == 200, response.content[:300]
    listed = response.json()["results"]
    assert listed, "the filter should leave some projects"
    by_id = {row["id"]: row for row in serializer_json(Project.objects.all())}
    assert listed == [by_id[row["id"]] for row in listed]
    assert [list(row) for row in listed] == [list(by_id[row["id"]]) for row in listed]  # key order
    assert {row["id"] for row in listed} <= set(by_id)
    first = next(row for row in listed if row["id"] == varied[0])
    if not query:
        assert first["tags"] == ["三年行动", "乡村振兴", "民生实事"]  # the tags' own order (name)
        assert first["total_investment"] == "12345.67"
        assert first["created_at"].endswith("+08:00")


def test_rows_without_arrays_match_too(varied):
    """The path the SQLite demo takes: one query per many-to-many field for the page."""
    rows = value_rows(ProjectSerializer)
    plain = Project.objects.order_by("id").values(*rows.lookups)
    assert rows.render(plain) == serializer_json(Project.objects.order_by("id"))


def test_a_field_that_cannot_be_read_from_rows_is_refused_at_once():
    class WithMethod(serializers.ModelSerializer):
        label = serializers.SerializerMethodField()

        class Meta:
            model = Project
            fields = ["id", "label"]

    with pytest.raises(ImproperlyConfigured, match="label"):
        ValueRows(WithMethod)


def test_an_empty_page_needs_no_related_query(db, django_assert_num_queries):
    rows = value_rows(ProjectSerializer)
    with django_assert_num_queries(1):
        assert rows.render(rows.values(Project.objects.all())) == []


@pytest.mark.parametrize(
    "ordering",
    [["-sort_order", "id"], ["unit__path", "-name"]],  # descending; across a relation
    ids=["written-as-sql", "orm-subquery"],
)
def test_related_values_keep_the_related_models_order(varied, monkeypatch, ordering):
    """The arrays follow the related model's Meta.ordering as a prefetch would, whether the
    array is written as SQL or, for an ordering across relations, built by the ORM."""
    monkeypatch.setattr(Leader._meta, "ordering", ordering)
    rows = ValueRows(ProjectSerializer)
    listed = rows.render(rows.values(Project.objects.order_by("id")))
    assert listed == serializer_json(Project.objects.order_by("id"))
    assert any(len(row["co_leaders"]) == 3 for row in listed)


@pytest.mark.parametrize(
    ("query", "status", "count", "ids"),
    [
        ("page_size=2", 200, 3, 2),
        ("page_size=2&page=2", 200, 3, 1),
        ("page_size=2&page=3", 400, None, None),  # past the end: counted on its own, refused
        ("page_size=2&page=x", 400, None, None),
        ("page_size=2&ordering=-name&page=2", 200, 3, 1),
    ],
)
def test_pages_are_counted_with_their_own_query(
    client, varied, supervisor, query, status, count, ids, django_assert_max_num_queries
):
    headers = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=headers)  # the token's first use writes last_used_at
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/v1/projects/?{query}", headers=headers)
    assert response.status_code == status, response.content[:300]
    if status == 200:
        body = response.json()
        assert body["count"] == count == Project.objects.count()
        assert len(body["results"]) == ids
        assert (body["next"] is None) == ("page=2" in query)


def test_an_empty_list_is_counted_as_zero(client, db, supervisor):
    response = client.get("/api/v1/projects/", headers=bearer(make_token(supervisor)))
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_times_follow_the_current_time_zone_as_drf_has_them(varied):
    """In UTC, DRF writes "Z" rather than "+00:00"; the rows do the same."""
    rows = value_rows(ProjectSerializer)
    with timezone.override("UTC"):
        listed = rows.render(rows.values(Project.objects.order_by("id")))
        assert listed == serializer_json(Project.objects.order_by("id"))
    assert listed[0]["created_at"].endswith("Z")


@pytest.mark.parametrize("page", ["200000000000000000", "10000000000000000000"])
def test_a_page_far_past_the_end_is_the_documented_400(client, project_a, supervisor, page):
    """Its OFFSET would not fit PostgreSQL's bigint: refused as any page that does not exist,
    before a query is made of it."""
    response = client.get(f"/api/v1/projects/?page={page}", headers=bearer(make_token(supervisor)))
    body = assert_error(response, 400, "invalid")
    assert "page" in body["details"]


def test_a_relation_in_the_related_models_ordering_orders_as_a_prefetch_does(
    project_a, county, unit_a, unit_b, monkeypatch
):
    """Ordered by a foreign key, a prefetch follows the related model's own ordering (units by
    path), not the key's value: the array is then built by the ORM."""
    late_b = factories.UnitFactory(name="x1", kind="department", parent=unit_b)
    late_a = factories.UnitFactory(name="x2", kind="department", parent=unit_a)  # id > late_b
    leaders = [
        Leader.objects.create(name=f"领导{i}", title="副县长", unit=unit)
        for i, unit in enumerate([late_b, late_a, county])
    ]
    project_a.co_leaders.add(*leaders)
    monkeypatch.setattr(Leader._meta, "ordering", ["-unit", "id"])
    rows = ValueRows(ProjectSerializer)
    listed = rows.render(rows.values(Project.objects.order_by("id")))
    assert listed == serializer_json(Project.objects.order_by("id"))
