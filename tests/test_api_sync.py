"""What a nightly mirror relies on beyond the lists: conditional GETs, projects leaving a scope,
tombstone retention, and references limited to what the caller may name."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import time_machine

from projects import services
from projects.models import Project, Tombstone, UnitKind
from projects.tasks import prune_tombstones
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.worlds import NOW


def ids(client, url, headers) -> list[tuple]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content[:300]
    return [(t["model"], t["object_id"], t["reason"]) for t in response.json()["results"]]


def test_if_none_match_answers_304_until_the_object_changes(client, project_a, reporter_a):
    auth = bearer(make_token(reporter_a))
    url = f"/api/v1/projects/{project_a.pk}/"
    first = client.get(url, headers=auth)
    etag = first["ETag"]
    again = client.get(url, headers=auth | {"If-None-Match": etag})
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    services.project_update(project=project_a, actor=reporter_a, name="新名字")
    changed = client.get(url, headers=auth | {"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["name"] == "新名字"
    assert changed["ETag"] != etag


def test_a_project_handed_over_leaves_a_tombstone_for_the_old_unit_only(
    client, today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, project_a
):
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        services.project_update(project=project_a, actor=supervisor, lead_unit=unit_b)
    since = quote(NOW.isoformat())
    moved = ("project", project_a.pk, "moved")
    # Unit A's mirror is told to drop it, and no longer lists it.
    a = bearer(make_token(reporter_a))
    assert ids(client, f"/api/v1/tombstones/?since={since}", a) == [moved]
    listed = client.get(f"/api/v1/projects/?updated_since={since}", headers=a).json()
    assert listed["count"] == 0
    # Unit B gains it through updated_since and is told nothing to drop.
    b = bearer(make_token(reporter_b))
    assert ids(client, f"/api/v1/tombstones/?since={since}", b) == []
    gained = client.get(f"/api/v1/projects/?updated_since={since}", headers=b).json()
    assert [p["id"] for p in gained["results"]] == [project_a.pk]
    # The county's supervisor still sees it: the tombstone comes with the update that restores it.
    s = bearer(make_token(supervisor))
    assert ids(client, f"/api/v1/tombstones/?since={since}", s) == [moved]
    kept = client.get(f"/api/v1/projects/?updated_since={since}", headers=s).json()
    assert [p["id"] for p in kept["results"]] == [project_a.pk]
    assert Tombstone.objects.get().scope_path == unit_a.path


def test_dropping_a_cooperating_unit_tells_that_unit(
    client, today, county, unit_a, unit_b, reporter_a, reporter_b, project_a
):
    services.project_update(project=project_a, actor=reporter_a, cooperating_units=[unit_b])
    b = bearer(make_token(reporter_b))
    assert client.get(f"/api/v1/projects/{project_a.pk}/", headers=b).status_code == 200
    services.project_update(project=project_a, actor=reporter_a, cooperating_units=[])
    assert ids(client, "/api/v1/tombstones/", b) == [("project", project_a.pk, "moved")]
    assert ids(client, "/api/v1/tombstones/", bearer(make_token(reporter_a))) == []
    # An edit that keeps the units writes no tombstone.
    services.project_update(project=project_a, actor=reporter_a, name="只改名称")
    assert Tombstone.objects.count() == 1


def test_old_tombstones_are_pruned_and_an_older_since_is_410(
    client, settings, today, reporter_a, project_a, project_b
):
    settings.TRACKER_TOMBSTONE_DAYS = 30
    with time_machine.travel(NOW - dt.timedelta(days=31), tick=False):
        Project.objects.filter(pk=project_b.pk).delete()
    with time_machine.travel(NOW - dt.timedelta(days=29), tick=False):
        factories.create_milestone(project=project_a, actor=reporter_a, due_date=today).delete()
    assert prune_tombstones.apply().get() == 1
    assert list(Tombstone.objects.values_list("model", flat=True)) == ["milestone"]
    assert prune_tombstones.apply().get() == 0
    auth = bearer(make_token(reporter_a))
    too_old = quote((NOW - dt.timedelta(days=31)).isoformat())
    body = assert_error(
        client.get(f"/api/v1/tombstones/?since={too_old}", headers=auth), 410, "sync_too_old"
    )
    assert "30" in body["message"]
    recent = quote((NOW - dt.timedelta(days=29, hours=1)).isoformat())
    assert [t[0] for t in ids(client, f"/api/v1/tombstones/?since={recent}", auth)] == ["milestone"]


def test_project_writes_may_only_name_what_the_form_offers(
    client, today, county, unit_a, unit_b, reporter_a, project_a, project_b
):
    village = factories.UnitFactory(name="某村", kind=UnitKind.VILLAGE, parent=unit_a)
    auth = bearer(make_token(reporter_a, write=True)) | {"If-Match": f'"{project_a.version}"'}
    url = f"/api/v1/projects/{project_a.pk}/"
    for field, value in [
        ("parent", project_b.pk),  # another unit's project: not visible
        ("parent", project_a.pk),  # itself
        ("township", unit_b.pk),  # not a township
        ("cooperating_units", [village.pk]),  # villages are not co-units
    ]:
        response = client.patch(
            url, data={field: value}, content_type="application/json", headers=auth
        )
        details = assert_error(response, 400, "invalid")["details"]
        assert field in details, (field, details)
    project_a.refresh_from_db()
    assert (project_a.version, project_a.parent_id, project_a.township_id) == (1, None, None)
    assert not project_a.cooperating_units.exists()
