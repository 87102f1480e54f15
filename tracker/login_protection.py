"""Login protection around django-axes (settings in tracker/settings.py, docs/security.md).

Axes counts failed logins per username and client address in the database; these two callables
tell it the client's address and answer a locked-out login with the site's own login page.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip_address(request: HttpRequest) -> str | None:
    """The address the request came from, seen through TRACKER_TRUSTED_PROXIES reverse proxies.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For, so
    the n-th entry from the right is the client as the outermost trusted proxy saw it; entries
    further left were sent by the client itself and may be forged. (django-ipware, which axes can
    use, answers None for the plain one-proxy case, which would put every client on one count.)
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRACKER_TRUSTED_PROXIES
    if not proxies:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_ends_at(username: str, ip_address: str | None) -> dt.datetime:
    """When the lock of this username and address lifts: a cool-off after its last counted
    failure (tries during the lock are not counted, settings.py)."""
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time")
    )["last"]
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The login page, inside the site's layout, saying the login is locked, until when and whom
    to ask; status 429 as axes answers. Used for the site's and the admin's login alike."""
    username = get_client_username(request, credentials) or ""
    ends_at = lockout_ends_at(username, request.axes_ip_address)
    minutes = max(1, math.ceil((ends_at - timezone.now()).total_seconds() / 60))
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", ""),
        "lockout": {
            "username": username,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": minutes,
            "ends_at": timezone.localtime(ends_at),
            "contact": settings.TRACKER_SUPPORT_CONTACT,
        },
    }
    return render(request, "registration/login.html", context, status=429)
