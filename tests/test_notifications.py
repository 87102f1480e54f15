"""Notifications: who is told, the inbox and its badge, the API, e-mail, and webhooks delivered
to a real HTTP server started here (DingTalk, WeCom, signed JSON), with retries and the log."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from projects.models import Leader, Role
from supervision import notifications, rankings
from supervision.alerts import scan_alerts
from supervision.models import (
    DeliveryStatus,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
)
from supervision.tasks import deliver_webhook, send_email_digests
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.pages import count_queries
from tests.support.robot import render, serve
from tracker import periods
from tracker.celery import app as celery_app

User = get_user_model()
SITE = "https://xmdd.example.gov.cn"


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    # Unread counts live in Redis; rows of earlier tests were rolled back under the same ids.
    settings.TRACKER_SITE_URL = SITE
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _retries_in_process():
    # A task run in-process (``.apply()``) retries in-process too, but only when its failures
    # are not re-raised to the caller: each retry is a nested apply() with the app's setting.
    before = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = before


@pytest.fixture
def lead_leader(county):
    user = factories.UserFactory(username="fu_xianzhang")
    return Leader.objects.create(name="王副县长", title="副县长", unit=county, user=user)


def notify_a(unit, **kwargs):
    kwargs.setdefault("title", "征地问题待整改")
    return notifications.notify("issue.raised", units=[unit], **kwargs)


def inbox(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


# --- who is told -------------------------------------------------------------------------------


def test_the_units_people_and_the_leader_are_told_but_not_the_actor(
    unit_a, unit_b, reporter_a, head_a, reporter_b, supervisor, lead_leader
):
    sub_unit = factories.UnitFactory(name="交通运输局工程股", parent=unit_a)
    sub_reporter = factories.member(sub_unit, Role.REPORTER, username="sub")
    gone = factories.member(unit_a, Role.REPORTER, username="gone", is_active=False)

    created = notify_a(unit_a, leaders=[lead_leader, None], users=[supervisor], exclude=head_a)

    told = {n.recipient_id for n in created}
    assert told == {reporter_a.pk, lead_leader.user_id, supervisor.pk}
    # Exactly the unit's people: not the sub-unit's, not another unit's, not inactive accounts.
    for user in (head_a, sub_reporter, reporter_b, gone):
        assert inbox(user) == []
    assert Notification.objects.count() == 3
    row = Notification.objects.get(recipient=reporter_a)
    assert (row.event, row.read_at, row.emailed_at) == ("issue.raised", None, None)


def test_a_muted_event_does_not_reach_the_inbox(unit_a, reporter_a, head_a):
    NotificationPreference.objects.create(user=reporter_a, muted_events=["issue.raised"])
    notify_a(unit_a)
    notifications.notify("issue.closed", title="已销号", units=[unit_a])
    assert inbox(reporter_a) == ["已销号"]
    assert sorted(inbox(head_a)) == ["已销号", "征地问题待整改"]


def test_one_insert_for_all_recipients(unit_a, reporter_a, head_a, django_assert_num_queries):
    for n in range(5):
        factories.member(unit_a, Role.REPORTER, username=f"more{n}")
    # memberships, users with their preferences, the insert, the webhooks
    with django_assert_num_queries(4):
        created = notify_a(unit_a)
    assert len(created) == 7


def test_an_unknown_event_is_refused_and_writes_nothing(unit_a, reporter_a):
    with pytest.raises(ValueError, match=r"issue\.typo"):
        notifications.notify("issue.typo", title="x", units=[unit_a])
    with pytest.raises(ValueError):
        notifications.notify("issue.raised", title="  ", units=[unit_a])
    with pytest.raises(ValueError):
        notifications.notify("issue.raised", title="x", url="javascript:alert(1)", units=[unit_a])
    assert Notification.objects.count() == 0


def test_units_may_be_given_by_id(unit_a, reporter_a):
    assert [n.recipient_id for n in notify_a(unit_a.pk)] == [reporter_a.pk]


# --- the unread count and its cache ------------------------------------------------------------


def test_unread_count_is_cached_and_invalidated_by_every_write(
    unit_a, reporter_a, django_assert_num_queries
):
    notify_a(unit_a)
    notify_a(unit_a, title="第二条")
    with django_assert_num_queries(1):
        assert notifications.unread_count(reporter_a) == 2
    with django_assert_num_queries(0):
        assert notifications.unread_count(reporter_a) == 2

    notify_a(unit_a, title="第三条")
    assert notifications.unread_count(reporter_a) == 3
    first = Notification.objects.filter(recipient=reporter_a).order_by("id").first()
    assert notifications.mark_read(reporter_a, [first.pk]) == 1
    assert notifications.unread_count(reporter_a) == 2
    assert notifications.mark_read(reporter_a, [first.pk]) == 0  # already read
    assert notifications.mark_all_read(reporter_a) == 2
    with django_assert_num_queries(1):
        assert notifications.unread_count(reporter_a) == 0


def test_nobody_marks_someone_elses_notifications(unit_a, unit_b, reporter_a, reporter_b):
    theirs = notify_a(unit_b)[0]
    assert notifications.mark_read(reporter_a, [theirs.pk]) == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


# --- pages -------------------------------------------------------------------------------------


def test_inbox_needs_a_login(client):
    for url in ("/notifications/", "/notifications/preferences/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.post("/notifications/read-all/").status_code == 302


def test_inbox_shows_only_own_notifications_unread_first(
    client, today, unit_a, unit_b, reporter_a, reporter_b
):
    old = notify_a(unit_a, title="旧通知-已读")[0]
    notifications.mark_read(reporter_a, [old.pk])
    notify_a(unit_a, title="新通知-未读", url="/projects/1/")
    notify_a(unit_b, title="别人的通知")
    client.force_login(reporter_a)
    page = client.get("/notifications/").content.decode()
    assert "别人的通知" not in page
    assert page.index("新通知-未读") < page.index("旧通知-已读")
    unread_only = client.get("/notifications/?show=unread").content.decode()
    assert "新通知-未读" in unread_only
    assert "旧通知-已读" not in unread_only


def test_badge_in_the_nav(client, unit_a, reporter_a):
    client.force_login(reporter_a)
    notify_a(unit_a)
    notify_a(unit_a, title="第二条")
    response = client.get("/notifications/")
    assert response.context["unread_notification_count"] == 2
    assert 'class="badge red"' in response.content.decode().split("</nav>")[0]


def test_open_marks_read_and_follows_the_link(client, unit_a, unit_b, reporter_a, reporter_b):
    mine = notify_a(unit_a, url="/rankings/")[0]
    theirs = notify_a(unit_b)[0]
    client.force_login(reporter_a)
    assert client.get(f"/notifications/{mine.pk}/read/").status_code == 405
    response = client.post(f"/notifications/{mine.pk}/read/", {"next": "/rankings/"})
    assert response.status_code == 302
    assert response["Location"] == "/rankings/"
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    # Someone else's: not found, unchanged.
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_a_foreign_next_is_ignored(client, unit_a, reporter_a):
    mine = notify_a(unit_a)[0]
    client.force_login(reporter_a)
    response = client.post(f"/notifications/{mine.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"


def test_mark_all_read_from_the_page(client, unit_a, unit_b, reporter_a, reporter_b):
    notify_a(unit_a)
    notify_a(unit_a, title="第二条")
    notify_a(unit_b)
    client.force_login(reporter_a)
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=reporter_a, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=reporter_b, read_at__isnull=True).count() == 1
    assert client.get("/notifications/").context["unread_notification_count"] == 0


def test_inbox_and_badge_keep_a_fixed_number_of_queries(client, unit_a, reporter_a):
    client.force_login(reporter_a)
    notify_a(unit_a)
    cold = count_queries(client, "/notifications/", cache_state=None)  # the badge counts once…
    warm = count_queries(client, "/notifications/", cache_state=None)  # …then comes from the cache
    for n in range(40):
        notify_a(unit_a, title=f"通知{n}")
    many_cold = count_queries(client, "/notifications/", cache_state=None)
    many_warm = count_queries(client, "/notifications/?page=2", cache_state=None)
    # session, user, page count, page rows (+ the badge's COUNT when not cached)
    assert (cold, warm, many_cold, many_warm) == (5, 4, 5, 4)


def test_badge_costs_at_most_one_query_on_other_pages(client, reporter_a):
    client.force_login(reporter_a)
    first = count_queries(client, "/rankings/", cache_state=None)
    again = count_queries(client, "/rankings/", cache_state=None)
    assert first == again + 1


def test_preferences_are_saved(client, reporter_a):
    client.force_login(reporter_a)
    assert client.get("/notifications/preferences/").status_code == 200
    response = client.post(
        "/notifications/preferences/",
        {"email": "immediate", "muted_events": ["alert.red", "issue.urged"]},
    )
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=reporter_a)
    assert (preference.email, preference.muted_events) == (
        "immediate",
        ["alert.red", "issue.urged"],
    )


@pytest.mark.parametrize(
    "data",
    [
        {"email": "hourly"},
        {"email": "daily", "muted_events": ["issue.typo"]},
        {},
    ],
)
def test_bad_preferences_change_nothing(client, reporter_a, data):
    NotificationPreference.objects.create(user=reporter_a, email="never")
    client.force_login(reporter_a)
    response = client.post("/notifications/preferences/", data)
    assert response.status_code == 200
    assert response.context["form"].errors
    preference = NotificationPreference.objects.get(user=reporter_a)
    assert (preference.email, preference.muted_events) == ("never", [])


def test_preference_service_refuses_unknown_events(reporter_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        notifications.preference_save(user=reporter_a, email="daily", muted_events=["nope"])
    assert not NotificationPreference.objects.exists()


# --- API ---------------------------------------------------------------------------------------


def test_api_lists_only_own_notifications(client, unit_a, unit_b, reporter_a, reporter_b):
    notify_a(unit_a, url="/projects/3/")
    read = notify_a(unit_a, title="已读的")[0]
    notifications.mark_read(reporter_a, [read.pk])
    notify_a(unit_b, title="别人的")
    auth = bearer(make_token(reporter_a))
    body = client.get("/api/v1/notifications/", headers=auth).json()
    assert body["count"] == 2
    assert {r["title"] for r in body["results"]} == {"征地问题待整改", "已读的"}
    first = next(r for r in body["results"] if r["url"])
    assert first["link"] == f"{SITE}/projects/3/"
    assert (first["event"], first["unread"]) == ("issue.raised", True)
    unread = client.get("/api/v1/notifications/?unread=true", headers=auth).json()
    assert [r["title"] for r in unread["results"]] == ["征地问题待整改"]
    other = Notification.objects.get(recipient=reporter_b)
    assert_error(client.get(f"/api/v1/notifications/{other.pk}/", headers=auth), 404, "not_found")


def test_api_needs_authentication(client, unit_a, reporter_a):
    mine = notify_a(unit_a)[0]
    assert_error(client.get("/api/v1/notifications/"), 401, "not_authenticated")
    response = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 401
    assert client.post("/api/v1/notifications/read-all/").status_code == 401
    assert Notification.objects.get(pk=mine.pk).read_at is None


def test_api_marks_read(client, unit_a, unit_b, reporter_a, reporter_b):
    mine = notify_a(unit_a)
    theirs = notify_a(unit_b)[0]
    read_only, write = bearer(make_token(reporter_a)), bearer(make_token(reporter_a, write=True))
    assert_error(
        client.post(f"/api/v1/notifications/{mine[0].pk}/read/", headers=read_only),
        403,
        "token_read_only",
    )
    response = client.post(f"/api/v1/notifications/{mine[0].pk}/read/", headers=write)
    assert response.status_code == 200
    assert response.json()["unread"] is False
    assert_error(
        client.post(f"/api/v1/notifications/{theirs.pk}/read/", headers=write), 404, "not_found"
    )
    notify_a(unit_a, title="第二条")
    notify_a(unit_a, title="第三条")
    response = client.post("/api/v1/notifications/read-all/", headers=write)
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=reporter_a, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert notifications.unread_count(reporter_a) == 0


def test_api_list_keeps_a_fixed_number_of_queries(client, unit_a, reporter_a):
    auth = bearer(make_token(reporter_a))
    client.get("/api/v1/me/", headers=auth)  # the token's first use records it
    notify_a(unit_a)

    def count() -> int:
        return count_queries(client, "/api/v1/notifications/", headers=auth)

    before = count()
    for n in range(30):
        notify_a(unit_a, title=f"通知{n}")
    assert count() == before


# --- webhooks: the robot server ----------------------------------------------------------------


@pytest.fixture
def robot():
    with serve() as server:
        yield server


def hook(unit, robot, kind="json", **fields) -> Webhook:
    fields.setdefault("name", f"{unit.name}{kind}")
    fields.setdefault("url", robot.url())
    return Webhook.objects.create(unit=unit, kind=kind, **fields)


def test_deliveries_go_to_the_units_and_its_ancestors_webhooks(
    county, unit_a, unit_b, reporter_a, robot
):
    own = hook(unit_a, robot)
    upper = hook(county, robot, kind="dingtalk")
    sibling = hook(unit_b, robot)
    hook(county, robot, name="只收预警", events=["alert.red"])
    hook(county, robot, name="停用", is_active=False)
    listening = hook(county, robot, name="收交办", events=["issue.raised", "alert.red"])

    notify_a(unit_a, url="/projects/9/")

    deliveries = WebhookDelivery.objects.order_by("webhook_id")
    assert [d.webhook_id for d in deliveries] == [own.pk, upper.pk, listening.pk]
    assert sibling.deliveries.count() == 0
    payload = deliveries[0].payload
    assert payload["url"] == f"{SITE}/projects/9/"
    assert (payload["event"], payload["title"]) == ("issue.raised", "征地问题待整改")
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
    assert robot.received == []  # nothing is sent before the transaction commits


def test_after_commit_each_delivery_is_sent(
    county, unit_a, reporter_a, robot, eager_tasks, django_capture_on_commit_callbacks
):
    hook(unit_a, robot)
    hook(county, robot, kind="wecom")
    with django_capture_on_commit_callbacks(execute=True):
        notify_a(unit_a)
    assert len(robot.received) == 2
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def deliver(delivery: WebhookDelivery):
    return deliver_webhook.apply(args=[delivery.pk])


def one_delivery(unit, **kwargs) -> WebhookDelivery:
    notify_a(unit, **kwargs)
    return WebhookDelivery.objects.get()


def test_dingtalk_markdown_with_the_signature_dingtalk_checks(today, unit_a, robot):
    secret = "SECtest0123456789abcdef"
    hook(
        unit_a, robot, kind="dingtalk", url=robot.url("/robot/send?access_token=tok"), secret=secret
    )
    delivery = one_delivery(unit_a, body="请于月底前完成征地", url="/projects/5/")

    assert deliver(delivery).successful()

    request = robot.received[0]
    query = request["query"]
    assert query["access_token"] == "tok"
    # What DingTalk does on its side: HMAC-SHA256 over "timestamp\nsecret", base64.
    expected = base64.b64encode(
        hmac.new(
            secret.encode(), f"{query['timestamp']}\n{secret}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert hmac.compare_digest(query["sign"], expected)
    assert abs(int(query["timestamp"]) - time.time() * 1000) < 3_600_000
    message = json.loads(request["body"])
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"] == "征地问题待整改"
    assert "请于月底前完成征地" in message["markdown"]["text"]
    assert f"({SITE}/projects/5/)" in message["markdown"]["text"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None


def test_dingtalk_without_a_secret_sends_no_signature(unit_a, robot):
    hook(unit_a, robot, kind="dingtalk")
    assert deliver(one_delivery(unit_a)).successful()
    assert robot.received[0]["query"] == {}


def test_wecom_markdown(unit_a, robot):
    hook(unit_a, robot, kind="wecom", url=robot.url("/cgi-bin/webhook/send?key=k1"))
    assert deliver(one_delivery(unit_a, body="第一行\n第二行", url="/x/")).successful()
    request = robot.received[0]
    assert request["query"] == {"key": "k1"}
    message = json.loads(request["body"])
    assert message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert content.startswith("**征地问题待整改**")
    assert "第一行\n第二行" in content
    assert f"({SITE}/x/)" in content


def test_wecom_content_is_cut_to_its_limit(unit_a, robot):
    hook(unit_a, robot, kind="wecom")
    assert deliver(one_delivery(unit_a, body="很长" * 3000)).successful()
    content = json.loads(robot.received[0]["body"])["markdown"]["content"]
    assert len(content.encode()) <= notifications.WECOM_MAX_BYTES


def test_json_webhook_signed_over_the_raw_body(today, unit_a, robot):
    secret = "json-hook-secret"
    hook(unit_a, robot, secret=secret)
    delivery = one_delivery(unit_a, body="说明", url="/projects/7/")
    assert deliver(delivery).successful()

    request = robot.received[0]
    headers = request["headers"]
    expected = "sha256=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-tracker-signature"], expected)
    assert headers["x-tracker-event"] == "issue.raised"
    assert headers["x-tracker-delivery"] == str(delivery.pk)
    assert headers["content-type"].startswith("application/json")
    body = json.loads(request["body"])
    assert body == {
        "id": delivery.pk,
        "event": "issue.raised",
        "title": "征地问题待整改",
        "body": "说明",
        "url": f"{SITE}/projects/7/",
        "created_at": "2026-11-21T10:00:00+08:00",
    }


def test_a_tampered_body_fails_the_signature(unit_a, robot):
    hook(unit_a, robot, secret="s3cret")
    assert deliver(one_delivery(unit_a)).successful()
    request = robot.received[0]
    tampered = request["body"].replace(b"issue.raised", b"issue.closed")
    forged = "sha256=" + hmac.new(b"s3cret", tampered, hashlib.sha256).hexdigest()
    assert request["headers"]["x-tracker-signature"] != forged


def test_dingtalk_errcode_is_a_failure(unit_a, robot):
    hook(unit_a, robot, kind="dingtalk", secret="SECx")
    robot.default = (200, {"errcode": 310000, "errmsg": "sign not match"})
    result = deliver(one_delivery(unit_a))
    assert result.failed()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 6  # the first try and five retries
    assert delivery.response_status == 200
    assert "310000" in delivery.last_error
    assert delivery.delivered_at is None
    assert len(robot.received) == 6


def test_a_failing_robot_is_tried_again(unit_a, robot):
    hook(unit_a, robot)
    robot.answers = [(500, {"error": "busy"}), (200, {"ok": True})]
    result = deliver(one_delivery(unit_a))
    assert result.successful()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 2, 200)
    assert delivery.last_error == ""
    assert len(robot.received) == 2


def test_retries_back_off_exponentially():
    assert deliver_webhook.max_retries == 5
    assert deliver_webhook.retry_backoff == 30
    assert deliver_webhook.autoretry_for == (notifications.DeliveryFailed,)
    assert deliver_webhook.acks_late


def test_a_delivery_fails_after_the_last_retry(unit_a, robot):
    hook(unit_a, robot)
    robot.default = (503, {"error": "down"})
    result = deliver(one_delivery(unit_a))
    assert result.failed()
    assert isinstance(result.result, notifications.DeliveryFailed)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 6, 503)
    assert delivery.last_error.startswith("HTTP 503")


def test_a_client_error_is_not_retried(unit_a, robot):
    hook(unit_a, robot)
    robot.default = (404, {"error": "no such hook"})
    assert deliver(one_delivery(unit_a)).failed()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 404)
    assert len(robot.received) == 1


def test_an_unreachable_address_is_recorded(unit_a):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nobody listens there
    Webhook.objects.create(name="x", unit=unit_a, kind="json", url=f"http://127.0.0.1:{port}/")
    assert deliver(one_delivery(unit_a)).failed()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 6, None)
    assert "ConnectionError" in delivery.last_error


def test_a_delivered_row_is_never_sent_again(unit_a, robot):
    hook(unit_a, robot)
    delivery = one_delivery(unit_a)
    assert deliver(delivery).successful()
    assert deliver(delivery).successful()
    assert len(robot.received) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_a_webhook_switched_off_meanwhile_is_not_called(unit_a, robot):
    webhook = hook(unit_a, robot)
    delivery = one_delivery(unit_a)
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)
    assert deliver(delivery).failed()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert robot.received == []


# --- e-mail ------------------------------------------------------------------------------------


def test_daily_digest(today, unit_a, reporter_a, head_a):
    User.objects.filter(pk=reporter_a.pk).update(email="a@example.gov.cn")
    User.objects.filter(pk=head_a.pk).update(email="head@example.gov.cn")
    NotificationPreference.objects.create(user=head_a, email="never")
    no_address = factories.member(unit_a, Role.REPORTER, username="no_email")
    notify_a(unit_a, url="/projects/1/")
    notify_a(unit_a, title="第二条通知")
    seen = notify_a(unit_a, title="已读的通知")
    notifications.mark_read(reporter_a, [n.pk for n in seen if n.recipient_id == reporter_a.pk])

    assert send_email_digests.apply().get() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["a@example.gov.cn"]
    assert "征地问题待整改" in message.body
    assert "第二条通知" in message.body
    assert "已读的通知" not in message.body
    assert f"{SITE}/projects/1/" in message.body
    assert f"{SITE}/notifications/preferences/" in message.body
    stamped = Notification.objects.filter(recipient=reporter_a, emailed_at__isnull=False)
    assert stamped.count() == 2
    for user in (head_a, no_address):  # "never", and no address
        assert Notification.objects.filter(recipient=user).count() == 3
        assert not Notification.objects.filter(recipient=user, emailed_at__isnull=False).exists()
    # A second run has nothing new to send.
    assert send_email_digests.apply().get() == 0
    assert len(mail.outbox) == 1


def test_immediate_email_after_commit(
    unit_a, reporter_a, head_a, eager_tasks, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=reporter_a.pk).update(email="a@example.gov.cn")
    User.objects.filter(pk=head_a.pk).update(email="head@example.gov.cn")
    NotificationPreference.objects.create(user=reporter_a, email="immediate")
    with django_capture_on_commit_callbacks(execute=True):
        notify_a(unit_a, body="三天内反馈")
    assert [m.to for m in mail.outbox] == [["a@example.gov.cn"]]
    assert "征地问题待整改" in mail.outbox[0].subject
    assert "三天内反馈" in mail.outbox[0].body
    assert Notification.objects.get(recipient=reporter_a).emailed_at is not None
    # The digest does not send it again, and sends head_a (daily by default) theirs.
    assert send_email_digests.apply().get() == 1
    assert [m.to for m in mail.outbox][1:] == [["head@example.gov.cn"]]


# --- red lights and rankings -------------------------------------------------------------------


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture
def led_project(project_a, lead_leader):
    project_a.lead_leader = lead_leader
    project_a.save(update_fields=["lead_leader"])
    return project_a


def test_a_project_turning_red_is_told_once(
    today, led_project, unit_a, reporter_a, head_a, reporter_b, supervisor, lead_leader, project_b
):
    for name in ("征地完成", "管线迁改"):  # two red alerts, one notification
        factories.create_milestone(
            project=led_project, actor=reporter_a, due_date=day("2026-10-01"), name=name
        )
    factories.create_milestone(
        project=project_b, actor=reporter_b, due_date=day("2026-11-15"), name="大坝浇筑"
    )  # yellow only

    scan_alerts(today=day("2026-11-21"))

    red = Notification.objects.filter(event="alert.red")
    assert set(red.values_list("recipient_id", flat=True)) == {
        reporter_a.pk,
        head_a.pk,
        lead_leader.user_id,
    }
    one = red.get(recipient=reporter_a)
    assert led_project.name in one.title
    assert "征地完成" in one.body and "管线迁改" in one.body
    assert one.url == reverse("project_detail", args=[led_project.pk])
    assert not red.filter(recipient__in=[reporter_b, supervisor]).exists()

    scan_alerts(today=day("2026-11-21"))
    scan_alerts(today=day("2026-11-22"))
    assert red.count() == 3  # not again on a re-run


def test_a_yellow_alert_turning_red_is_told_then(today, led_project, reporter_a):
    factories.create_milestone(
        project=led_project, actor=reporter_a, due_date=day("2026-11-15"), name="开工"
    )
    scan_alerts(today=day("2026-11-21"))  # 6 days: yellow
    assert not Notification.objects.filter(event="alert.red").exists()
    scan_alerts(today=day("2026-12-05"))  # 20 days: red
    assert Notification.objects.filter(event="alert.red", recipient=reporter_a).count() == 1


def test_a_red_scan_sends_to_the_units_robot(
    today, county, led_project, reporter_a, robot, eager_tasks, django_capture_on_commit_callbacks
):
    hook(county, robot, kind="wecom", events=["alert.red"])
    factories.create_milestone(
        project=led_project, actor=reporter_a, due_date=day("2026-10-01"), name="征地完成"
    )
    with django_capture_on_commit_callbacks(execute=True):
        scan_alerts(today=day("2026-11-21"))
    assert len(robot.received) == 1
    assert led_project.name in json.loads(robot.received[0]["body"])["markdown"]["content"]


def test_publishing_a_ranking_tells_the_ranked_units(
    today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, project_a, project_b
):
    outsider = factories.member(
        factories.UnitFactory(name="某镇", kind="township", parent=county),
        Role.REPORTER,
        username="township",
    )
    scheme = factories.RankingSchemeFactory(parent_unit=county)
    snapshot = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-10"))
    rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    told = Notification.objects.filter(event="ranking.published")
    assert set(told.values_list("recipient_id", flat=True)) == {reporter_a.pk, reporter_b.pk}
    assert told.first().url == f"/rankings/{snapshot.pk}/bulletin/"  # the bulletin issued with it
    assert not told.filter(recipient__in=[supervisor, outsider]).exists()


# --- admin -------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, county):
    user = User.objects.create_superuser("root", "root@example.com", "pass12345")
    client.force_login(user)
    return client


def test_admin_sends_a_test_message(admin_client, county, robot):
    webhook = hook(county, robot, kind="dingtalk", secret="SECadmin")
    response = admin_client.post(
        "/admin/supervision/webhook/",
        {"action": "send_test_message", "_selected_action": [webhook.pk]},
    )
    assert response.status_code == 302
    assert len(robot.received) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status) == (notifications.TEST_EVENT, "delivered")
    page = admin_client.get(f"/admin/supervision/webhook/{webhook.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/supervision/webhookdelivery/{delivery.pk}/change/" in page.content.decode()


def test_admin_test_message_reports_a_failure(admin_client, county, robot):
    webhook = hook(county, robot, kind="wecom")
    robot.default = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    admin_client.post(
        "/admin/supervision/webhook/",
        {"action": "send_test_message", "_selected_action": [webhook.pk]},
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "93000" in delivery.last_error


def test_admin_retries_a_failed_delivery(
    admin_client, unit_a, robot, eager_tasks, django_capture_on_commit_callbacks
):
    hook(unit_a, robot)
    robot.default = (404, {})
    delivery = one_delivery(unit_a)
    deliver(delivery)
    assert WebhookDelivery.objects.get().status == "failed"
    robot.default = (200, {})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/supervision/webhookdelivery/",
            {"action": "retry", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_admin_webhook_form_saves_events(admin_client, county, robot):
    response = admin_client.post(
        "/admin/supervision/webhook/add/",
        {
            "name": "县督查室钉钉群",
            "unit": county.pk,
            "kind": "dingtalk",
            "url": robot.url("/robot/send?access_token=t"),
            "secret": "SECabc",
            "events": ["alert.red", "issue.escalated"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook = Webhook.objects.get()
    assert webhook.events == ["alert.red", "issue.escalated"]


# --- robot messages show people's text as text --------------------------------------------------

EVIL_TITLE = "[点这里](http://evil.example) **加急** <font color=red>红</font>"
EVIL_REQUIREMENT = "# 立即处理\n- 详见 www.evil.example\n![图](http://evil.example/x.png) `代码`"


def _markdown(request) -> str:
    markdown = json.loads(request["body"])["markdown"]
    return markdown.get("text") or markdown["content"]


def test_a_malicious_issue_arrives_in_the_group_chat_as_plain_text(
    county, unit_a, supervisor, robot, eager_tasks, django_capture_on_commit_callbacks
):
    hook(county, robot, kind="dingtalk", url=robot.url("/dingtalk"))
    hook(county, robot, kind="wecom", url=robot.url("/wecom"))

    with django_capture_on_commit_callbacks(execute=True):
        issue = factories.IssueFactory(
            actor=supervisor, unit=unit_a, title=EVIL_TITLE, requirement=EVIL_REQUIREMENT
        )

    platform_link = f"{SITE}/supervision/issues/{issue.pk}/"
    received = {request["path"]: _markdown(request) for request in robot.received}
    assert set(received) == {"/dingtalk", "/wecom"}
    for path, markdown in received.items():
        html = render(markdown)
        # The one link is the platform's own, whole and working.
        assert re.findall(r'<a href="([^"]*)"', html) == [platform_link], path
        assert "查看详情</a>" in html
        # No planted image, raw HTML, heading, list or code; bold only for WeCom's title line.
        for tag in ("<img", "<font", "<h1", "<ul", "<li", "<code", "<em"):
            assert tag not in html, (path, tag)
        assert html.count("<strong>") == (1 if path == "/wecom" else 0), path
        # Every word arrives as typed, markup characters as their full-width twins.
        for words in (
            "［点这里］（http：／／evil．example）",
            "＊＊加急＊＊",
            "＜font color=red＞红",
            "＃ 立即处理",
            "－ 详见 www．evil．example",
            "！［图］",
        ):
            assert words in markdown, (path, words)
    dingtalk = json.loads(robot.received[0]["body"])["markdown"]
    assert "[" not in dingtalk["title"] and "(" not in dingtalk["title"]
    # What is stored (and what JSON webhooks, the inbox and e-mails get) is the title as typed.
    assert {d.payload["title"] for d in WebhookDelivery.objects.all()} == {f"【交办】{EVIL_TITLE}"}


def test_robot_text_leaves_ordinary_chinese_text_alone():
    plain = "2026-05-01 前完成征地 3.5 亿元，责任单位：交通运输局（港航）"
    assert notifications.robot_text(plain) == plain


def test_a_long_robot_message_is_cut_before_the_platforms_link(unit_a, robot):
    hook(unit_a, robot, kind="wecom")
    hook(unit_a, robot, kind="dingtalk")
    notify_a(unit_a, body="很长" * 3000, url="/projects/5/")
    for delivery in WebhookDelivery.objects.order_by("pk"):
        assert deliver(delivery).successful()
    wecom, dingtalk = (_markdown(request) for request in robot.received)
    assert len(wecom.encode()) <= notifications.WECOM_MAX_BYTES
    assert len(dingtalk) <= notifications.DINGTALK_MAX_CHARS
    for markdown in (wecom, dingtalk):
        assert markdown.endswith(f"[查看详情]({SITE}/projects/5/)")
        heading = ("#### 征地问题待整改\n\n很长很长", "**征地问题待整改**\n很长很长")
        assert markdown.startswith(heading)
        assert "…" in markdown
