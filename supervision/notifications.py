"""Notifications (DESIGN.md §4, docs/notifications.md): the in-app inbox, e-mail and group-robot
webhooks (DingTalk, WeCom, signed JSON).

``notify()`` is the one entry point for every part of the product: it writes one inbox row per
recipient in a single insert, records a ``WebhookDelivery`` for every matching webhook in the same
transaction (an outbox: a delivery exists exactly when the event committed), and once the
transaction commits queues one Celery task per delivery and the "immediate" e-mails. The daily
digest (``send_email_digests``) e-mails the rest.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from projects.models import Leader, Light, Membership, Unit, path_ids
from supervision.catalogue import RULE_SPECS
from supervision.models import (
    Alert,
    AlertLevel,
    DeliveryStatus,
    DigestFrequency,
    Notification,
    NotificationPreference,
    RankingSnapshot,
    Webhook,
    WebhookDelivery,
    WebhookKind,
)
from tracker import outbox
from tracker.context_processors import SITE_NAME

logger = logging.getLogger(__name__)

# Every event the product sends: name → what a user sees on the preferences page. notify()
# refuses any other name, so a typo cannot create an event nobody can mute.
EVENTS = {
    # The ledger's events are "issue." + the timeline kind (supervision.models.IssueEventKind).
    "issue.raised": gettext_lazy("new issue for your unit"),
    "issue.accepted": gettext_lazy("request for coordination accepted"),
    "issue.declined": gettext_lazy("request for coordination declined"),
    "issue.response": gettext_lazy("response to an issue"),
    "issue.rectified": gettext_lazy("issue reported rectified"),
    "issue.closed": gettext_lazy("issue closed"),
    "issue.sent_back": gettext_lazy("issue sent back"),
    "issue.escalated": gettext_lazy("issue escalated"),
    "issue.urged": gettext_lazy("issue urged"),
    "issue.urged_up": gettext_lazy("request to push or coordinate"),
    "issue.instruction": gettext_lazy("leader's instruction"),
    "issue.extension_requested": gettext_lazy("deadline extension requested"),
    "issue.extension_granted": gettext_lazy("deadline extension granted"),
    "issue.extension_refused": gettext_lazy("deadline extension refused"),
    "meeting.decisions": gettext_lazy("meeting decisions assigned"),
    "notice.issued": gettext_lazy("red card or deadline notice"),
    "notice.settled": gettext_lazy("red card or deadline notice settled"),
    "alert.red": gettext_lazy("project turned red"),
    "ranking.published": gettext_lazy("ranking published"),
}

# The delivery log's event name of the admin's "send a test message" (no one can mute it).
TEST_EVENT = "webhook.test"

UNREAD_TIMEOUT = 600  # seconds; every write through this module invalidates sooner
REQUEST_TIMEOUT = (3.05, 10)  # connect, read (seconds)
MAX_ERROR = 500  # WebhookDelivery.last_error
WECOM_MAX_BYTES = 4096  # WeCom's limit on markdown content
DINGTALK_MAX_CHARS = 5000


# ---------------------------------------------------------------------------------------------
# Sending to the inbox
# ---------------------------------------------------------------------------------------------


@dataclass
class Message:
    """One event for notify_many(): who hears about it and what they read."""

    event: str
    title: str
    body: str = ""
    url: str = ""
    units: Sequence[Unit | int] = ()
    leaders: Sequence[Leader | None] = ()
    users: Sequence = ()
    exclude: object = None


def notify(
    event: str,
    *,
    title: str,
    body: str = "",
    url: str = "",
    units: Iterable[Unit | int] = (),
    leaders: Iterable[Leader | None] = (),
    users: Iterable = (),
    exclude=None,
) -> list[Notification]:
    """Tell the people of ``units`` (memberships in exactly those units), the user accounts of
    ``leaders`` and ``users`` about ``event``; never ``exclude`` (usually the actor), nor anyone
    who muted the event. Webhooks of the units and their ancestors get it too, after commit."""
    message = Message(
        event=event,
        title=title,
        body=body,
        url=url,
        units=tuple(units),
        leaders=tuple(leaders),
        users=tuple(users),
        exclude=exclude,
    )
    return notify_many([message])


def notify_many(messages: Sequence[Message]) -> list[Notification]:
    """notify() for several events at once, in a fixed number of queries however many."""
    for message in messages:
        _check(message)
    if not messages:
        return []
    now = timezone.now()
    paths = _unit_paths(messages)
    members: dict[int, set[int]] = {}
    if paths:
        for unit_id, user_id in Membership.objects.filter(unit_id__in=paths).values_list(
            "unit_id", "user_id"
        ):
            members.setdefault(unit_id, set()).add(user_id)
    wanted: list[set[int]] = []
    for message in messages:
        ids = set().union(*(members.get(_pk(unit), set()) for unit in message.units))
        ids |= {leader.user_id for leader in message.leaders if leader and leader.user_id}
        ids |= {_pk(user) for user in message.users if user is not None}
        if message.exclude is not None:
            ids.discard(_pk(message.exclude))
        wanted.append(ids)
    people = {
        pk: (email, frequency or DigestFrequency.DAILY, muted or [])
        for pk, email, frequency, muted in get_user_model()
        .objects.filter(pk__in=set().union(*wanted), is_active=True)
        .values_list(
            "pk",
            "email",
            "notification_preference__email",
            "notification_preference__muted_events",
        )
    }
    rows = [
        Notification(
            recipient_id=user_id,
            event=message.event,
            title=message.title,
            body=message.body,
            url=message.url,
            created_at=now,
        )
        for message, ids in zip(messages, wanted, strict=True)
        for user_id in sorted(ids)
        if user_id in people and message.event not in people[user_id][2]
    ]
    created = Notification.objects.bulk_create(rows) if rows else []
    deliveries = _record_deliveries(messages, paths, now)
    immediate = [
        n.pk
        for n in created
        if people[n.recipient_id][1] == DigestFrequency.IMMEDIATE and people[n.recipient_id][0]
    ]
    forget_unread({n.recipient_id for n in created})
    _dispatch([d.pk for d in deliveries], immediate)
    return created


def _check(message: Message) -> None:
    if message.event not in EVENTS:
        raise ValueError(f"Unknown notification event {message.event!r}: add it to EVENTS.")
    if not message.title.strip():
        raise ValueError("A notification needs a title.")
    limit = Notification._meta.get_field("title").max_length
    if len(message.title) > limit:
        message.title = message.title[: limit - 1] + "…"
    if len(message.url) > Notification._meta.get_field("url").max_length:
        raise ValueError(f"Notification link too long: {message.url[:80]}…")
    if message.url and not message.url.startswith(("/", "https://", "http://")):
        # Rendered as a link in the inbox: never a javascript: or data: address.
        raise ValueError(f"A notification links to a path or an http(s) URL: {message.url!r}")


def _pk(obj) -> int:
    return obj if isinstance(obj, int) else obj.pk


def _unit_paths(messages: Sequence[Message]) -> dict[int, str]:
    """Unit id → tree path for every unit named (Unit objects carry theirs; ids cost a query)."""
    paths = {u.pk: u.path for m in messages for u in m.units if isinstance(u, Unit)}
    missing = {u for m in messages for u in m.units if isinstance(u, int)} - set(paths)
    if missing:
        paths.update(Unit.objects.filter(pk__in=missing).values_list("pk", "path"))
    return paths


def _ancestors(path: str) -> set[int]:
    """The unit itself and every unit above it, from the materialised path "/1/7/42/"."""
    return set(path_ids(path))


def _record_deliveries(messages, paths: dict[int, str], now) -> list[WebhookDelivery]:
    reach = {unit_id: _ancestors(path) for unit_id, path in paths.items()}
    every = set().union(*reach.values()) if reach else set()
    if not every:
        return []
    hooks = list(Webhook.objects.filter(is_active=True, unit_id__in=every).order_by("pk"))
    rows = []
    for message in messages:
        units = set().union(*(reach.get(_pk(u), set()) for u in message.units))
        payload = event_payload(message.event, message.title, message.body, message.url, now)
        rows.extend(
            WebhookDelivery(webhook=hook, event=message.event, payload=payload, created_at=now)
            for hook in hooks
            if hook.unit_id in units and (not hook.events or message.event in hook.events)
        )
    return WebhookDelivery.objects.bulk_create(rows) if rows else []


def event_payload(event: str, title: str, body: str, url: str, now) -> dict:
    return {
        "event": event,
        "title": title,
        "body": body,
        "url": absolute_url(url),
        "created_at": timezone.localtime(now).isoformat(),
    }


def absolute_url(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.TRACKER_SITE_URL.rstrip("/") + "/" + url.lstrip("/")


# The Celery tasks that deliver (supervision/tasks.py), by name: the tasks call this module.
DELIVER_WEBHOOK_TASK = "supervision.tasks.deliver_webhook"
SEND_EMAILS_TASK = "supervision.tasks.send_notification_emails"


def _dispatch(delivery_ids: list[int], notification_ids: list[int]) -> None:
    """One task per delivery, one for the immediate e-mails: outbox messages written with the
    rows they deliver, sent to the workers after commit (tracker/outbox.py)."""
    for delivery_id in delivery_ids:
        outbox.enqueue(DELIVER_WEBHOOK_TASK, delivery_id)
    if notification_ids:
        outbox.enqueue(SEND_EMAILS_TASK, notification_ids)


# ---------------------------------------------------------------------------------------------
# The inbox: unread count (cached), marking read
# ---------------------------------------------------------------------------------------------


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def unread_count(user) -> int:
    """The number behind the nav badge: from the cache, or one COUNT on (recipient, read_at)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        cache.set(key, count, UNREAD_TIMEOUT)
    return count


def forget_unread(user_ids: Iterable[int]) -> None:
    """Drop cached counts now and again after commit: a page rendered meanwhile (it cannot see
    the uncommitted rows) must not keep the old count for the cache's lifetime."""
    keys = [_unread_key(pk) for pk in set(user_ids)]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(partial(cache.delete_many, keys), robust=True)


def mark_read(user, ids: Iterable[int]) -> int:
    """Mark the user's own notifications among ``ids`` read; returns how many changed."""
    changed = Notification.objects.filter(
        recipient=user, pk__in=list(ids), read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        forget_unread([user.pk])
    return changed


def mark_all_read(user) -> int:
    changed = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if changed:
        forget_unread([user.pk])
    return changed


def preference_for(user) -> NotificationPreference:
    """The user's preference, or the default one (daily e-mail, nothing muted), unsaved."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(
        user=user
    )


@transaction.atomic
def preference_save(*, user, email: str, muted_events: Iterable[str]) -> NotificationPreference:
    muted = sorted(set(muted_events))
    unknown = [event for event in muted if event not in EVENTS]
    if unknown:
        raise ValidationError(
            {"muted_events": _("Unknown event: %(events)s") % {"events": "、".join(unknown)}}
        )
    preference = preference_for(user)
    preference.email = email
    preference.muted_events = muted
    preference.full_clean()
    preference.save()
    return preference


# ---------------------------------------------------------------------------------------------
# What the product tells: red lights, published rankings
# ---------------------------------------------------------------------------------------------


def notify_red_projects(*, projects: Iterable[int] | None = None) -> int:
    """Projects whose light turns red through an alert: one notification per project to its
    responsible unit's people and its lead leader.

    ``scan_alerts`` calls this after writing the alerts and before updating the lights, so
    ``Project.light`` still holds the light before the scan: a project already red (by an
    earlier alert or a red card) is not told again, and a second scan finds nothing new.
    One query finds them all. Returns the number of projects.
    """
    rows = (
        Alert.objects.filter(level=AlertLevel.RED, resolved_at__isnull=True, project__isnull=False)
        .exclude(project__light=Light.RED)
        .order_by("project_id", "rule_id", "id")
        .values_list(
            "project_id",
            "project__name",
            "project__lead_unit_id",
            "project__lead_unit__path",
            "project__lead_leader__user_id",
            "rule__key",
            "detail",
        )
    )
    if projects is not None:
        rows = rows.filter(project_id__in=list(projects))
    found: dict[int, dict] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for project_id, name, unit_id, path, leader_user, rule, detail in rows:
            entry = found.setdefault(
                project_id,
                {
                    "name": name,
                    "unit": Unit(pk=unit_id, path=path),
                    "leader": leader_user,
                    "why": [],
                },
            )
            label = str(RULE_SPECS[rule].label) if rule in RULE_SPECS else rule
            entry["why"].append(f"{label}（{detail}）" if detail else label)
        messages = [
            Message(
                event="alert.red",
                title=_("Red light: %(project)s") % {"project": entry["name"]},
                body=_("Red alerts: %(alerts)s") % {"alerts": "；".join(entry["why"])},
                url=reverse("project_detail", args=[project_id]),
                units=(entry["unit"],),
                users=(entry["leader"],) if entry["leader"] else (),
            )
            for project_id, entry in found.items()
        ]
    notify_many(messages)
    return len(messages)


def notify_ranking_published(snapshot: RankingSnapshot, *, actor) -> list[Notification]:
    """Tell the ranked units' people that their ranking is out (the publisher excepted), with a
    link to the bulletin issued with it."""
    entries = list(snapshot.entries.select_related("unit").order_by("rank", "unit__path"))
    if not entries:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        top = "、".join(e.unit.display_name for e in entries if e.is_top)
        bottom = "、".join(e.unit.display_name for e in entries if e.is_bottom)
        parts = []
        if top:
            parts.append(_("Top: %(units)s") % {"units": top})
        if bottom:
            parts.append(_("Bottom: %(units)s") % {"units": bottom})
        return notify(
            "ranking.published",
            title=_("Ranking published: %(ranking)s") % {"ranking": snapshot},
            body="；".join(parts),
            url=reverse("ranking_bulletin", args=[snapshot.pk]),
            units=[e.unit for e in entries],
            exclude=actor,
        )


# ---------------------------------------------------------------------------------------------
# Webhooks: the three formats, one attempt, the delivery log
# ---------------------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """An attempt failed in a way worth trying again (network, 5xx, 429, robot errcode)."""


class DeliveryRejected(Exception):
    """An attempt failed in a way retrying cannot fix (4xx, redirect, switched-off webhook)."""


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    permanent: bool = False


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(secret, "timestamp\\nsecret")); the caller URL-encodes."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def json_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# Group robots render markdown (and a little HTML), but every title and body the product sends is
# plain text holding people's words: an issue's title, an answer, a unit's or a leader's name, a
# reason. Each character either renderer takes as markup becomes its full-width look-alike, which
# no renderer reads as markup and which a Chinese reader expects anyway. Backslash escapes are not
# used: neither robot documents them, and a renderer that ignores them would show the link.
_MARKUP_LOOKALIKES = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "!": "！",
        "|": "｜",
        "~": "～",
        "&": "＆",
    }
)
# At the start of a line these make a list, a heading underline or a rule.
_LINE_START = {"-": "－", "+": "＋", "=": "＝"}
_ORDERED_ITEM = re.compile(r"^(\d+)\.")
# What a renderer or chat client turns into a live link by itself: a scheme or "//" before a host,
# a domain ("evil.example", "www.x"). Dots between digits ("3.5 亿元") stay.
_DOMAIN_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z])")


def robot_text(text: str) -> str:
    """One line of people's text as it goes into a robot's markdown: shown as typed, never as
    formatting, a link or an image."""
    text = " ".join(text.split()).translate(_MARKUP_LOOKALIKES)
    text = text.replace("://", "：／／").replace("//", "／／")
    text = _DOMAIN_DOT.sub("．", text)
    if text[:1] in _LINE_START:
        text = _LINE_START[text[0]] + text[1:]
    return _ORDERED_ITEM.sub(r"\1．", text)


def _robot_lines(payload: dict) -> list[str]:
    return [robot_text(line) for line in (payload.get("body") or "").splitlines() if line.strip()]


def _robot_link(payload: dict) -> str:
    """The platform's own link to the item, the one link a robot message carries."""
    if not payload.get("url"):
        return ""
    # Our URLs hold nothing that ends a markdown link, but quote them so that none ever can.
    url = quote(payload["url"], safe=":/?#@!$&'*+,;=%~")
    label = _("View details")
    return f"[{label}]({url})"


def _fit(lines: list[str], link: str, *, joiner: str, limit: int, in_bytes: bool) -> str:
    """The lines joined, cut to the robot's limit (characters or UTF-8 bytes) so that the link
    after them always arrives whole."""

    def size(text: str) -> int:
        return len(text.encode()) if in_bytes else len(text)

    tail = f"{joiner}{link}" if link else ""
    text = joiner.join(lines)
    room = limit - size(tail)
    if size(text) > room:
        keep = room - size("…")
        text = text.encode()[:keep].decode(errors="ignore") if in_bytes else text[:keep]
        text += "…"
    return text + tail


def build_request(webhook: Webhook, delivery: WebhookDelivery) -> tuple[str, dict, bytes, dict]:
    """(url, query parameters, body, headers) of one delivery in the webhook's format."""
    payload = delivery.payload
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "county-tracker"}
    params: dict[str, str] = {}
    if webhook.kind in (WebhookKind.DINGTALK, WebhookKind.WECOM):
        title = robot_text(payload["title"])
        link = _robot_link(payload)
    if webhook.kind == WebhookKind.DINGTALK:
        text = _fit(
            [f"#### {title}", *_robot_lines(payload)],
            link,
            joiner="\n\n",
            limit=DINGTALK_MAX_CHARS,
            in_bytes=False,
        )
        data = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if webhook.secret:
            timestamp = str(round(time.time() * 1000))
            params = {"timestamp": timestamp, "sign": dingtalk_sign(webhook.secret, timestamp)}
    elif webhook.kind == WebhookKind.WECOM:
        content = _fit(
            [f"**{title}**", *_robot_lines(payload)],
            link,
            joiner="\n",
            limit=WECOM_MAX_BYTES,
            in_bytes=True,
        )
        data = {"msgtype": "markdown", "markdown": {"content": content}}
    else:
        data = {"id": delivery.pk, **payload}
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if webhook.kind == WebhookKind.JSON:
        headers["X-Tracker-Event"] = delivery.event
        headers["X-Tracker-Delivery"] = str(delivery.pk)
        if webhook.secret:
            headers["X-Tracker-Signature"] = json_signature(webhook.secret, body)
    return webhook.url, params, body, headers


def _attempt(webhook: Webhook, delivery: WebhookDelivery) -> Outcome:
    url, params, body, headers = build_request(webhook, delivery)
    try:
        response = requests.post(
            url,
            params=params,
            data=body,
            headers=headers,
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}")
    status = response.status_code
    snippet = response.text[:200]
    if status in (408, 429) or status >= 500:
        return Outcome(False, status, f"HTTP {status}: {snippet}")
    if not 200 <= status < 300:
        return Outcome(False, status, f"HTTP {status}: {snippet}", permanent=True)
    if webhook.kind in (WebhookKind.DINGTALK, WebhookKind.WECOM):
        # Both robots answer 200 and say in the body whether the message went out.
        try:
            answer = response.json()
        except ValueError:
            return Outcome(False, status, f"not a JSON answer: {snippet}")
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        if errcode != 0:
            errmsg = answer.get("errmsg", "") if isinstance(answer, dict) else ""
            return Outcome(False, status, f"errcode {errcode}: {errmsg}")
    return Outcome(True, status)


def webhook_deliver(delivery_id: int, *, final: bool) -> WebhookDelivery | None:
    """One attempt at a delivery, recorded on its row (attempts, response status, last error).

    A delivered or failed row is never sent again, and a row another worker is sending (locked)
    is skipped, so a task queued twice sends once. ``final``: the last attempt allowed, after
    which a failure is final. Raises DeliveryFailed (retry) or DeliveryRejected (do not).
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return delivery
        webhook = delivery.webhook
        if not webhook.is_active:
            outcome = Outcome(False, None, _("The webhook is switched off."), permanent=True)
        else:
            outcome = _attempt(webhook, delivery)
        delivery.attempts += 1
        delivery.response_status = outcome.status
        delivery.last_error = outcome.error[:MAX_ERROR]
        if outcome.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
        elif outcome.permanent or final:
            delivery.status = DeliveryStatus.FAILED
        delivery.save(
            update_fields=["attempts", "response_status", "last_error", "status", "delivered_at"]
        )
    if outcome.ok:
        return delivery
    if outcome.permanent:
        raise DeliveryRejected(outcome.error)
    raise DeliveryFailed(outcome.error)


def webhook_send_test(webhook: Webhook, *, actor) -> WebhookDelivery:
    """The admin's "send a test message": one delivery, tried once, now."""
    with translation.override(settings.LANGUAGE_CODE):
        payload = event_payload(
            TEST_EVENT,
            _("Test message from %(platform)s") % {"platform": SITE_NAME},
            _("%(user)s checked that this robot receives the platform's messages.")
            % {"user": actor.get_full_name() or actor.get_username()},
            reverse("home"),
            timezone.now(),
        )
        delivery = WebhookDelivery.objects.create(
            webhook=webhook, event=TEST_EVENT, payload=payload
        )
        # The outcome is recorded on the row, which the admin shows.
        with contextlib.suppress(DeliveryFailed, DeliveryRejected):
            webhook_deliver(delivery.pk, final=True)
    delivery.refresh_from_db()
    return delivery


def deliveries_retry(deliveries) -> int:
    """Send again the given deliveries that are not delivered (the admin's "retry")."""
    ids = list(deliveries.exclude(status=DeliveryStatus.DELIVERED).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING)
    _dispatch(ids, [])
    return len(ids)


# ---------------------------------------------------------------------------------------------
# E-mail: immediate and the daily digest
# ---------------------------------------------------------------------------------------------


def _email_user(user_id: int, only: Iterable[int] | None = None) -> int:
    """E-mail the user's unread, not yet e-mailed notifications (among ``only``) in one message
    and stamp them. Rows are locked while sending, so two runs never send the same row twice;
    when sending fails nothing is stamped and the next run tries again. Returns 1 if sent."""
    with transaction.atomic():
        pending = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(recipient_id=user_id, emailed_at__isnull=True, read_at__isnull=True)
            .order_by("created_at", "id")
        )
        if only is not None:
            pending = pending.filter(pk__in=list(only))
        rows = list(pending)
        if not rows or not rows[0].recipient.email:
            return 0
        user = rows[0].recipient
        for row in rows:
            row.link = absolute_url(row.url)
        if len(rows) == 1:
            subject = rows[0].title
        else:
            subject = _("%(count)s new notifications") % {"count": len(rows)}
        context = {
            "user": user,
            "notifications": rows,
            "preferences_url": absolute_url(reverse("notification_preferences")),
            "inbox_url": absolute_url(reverse("notification_inbox")),
            "platform_name": SITE_NAME,
        }
        send_mail(
            subject=f"【{SITE_NAME}】{subject}",
            message=render_to_string("supervision/notifications_email.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(emailed_at=timezone.now())
    return 1


def email_notifications(notification_ids: Iterable[int]) -> int:
    """The "immediate" e-mails of one notify(): one e-mail per recipient."""
    ids = list(notification_ids)
    users = sorted(
        set(
            Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).values_list(
                "recipient_id", flat=True
            )
        )
    )
    return sum(_email_user(user_id, ids) for user_id in users)


def send_email_digests() -> int:
    """The daily digest: one e-mail per active user with an address and the "daily" setting
    (the default), listing their unread notifications not e-mailed yet. Returns e-mails sent."""
    daily = Q(recipient__notification_preference__isnull=True) | Q(
        recipient__notification_preference__email=DigestFrequency.DAILY
    )
    users = (
        Notification.objects.filter(
            daily, emailed_at__isnull=True, read_at__isnull=True, recipient__is_active=True
        )
        .exclude(recipient__email="")
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(_email_user(user_id) for user_id in list(users))
