"""The notification inbox (/notifications/) and the user's preferences
(/notifications/preferences/). Every user sees only their own notifications."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from supervision import notifications
from supervision.models import DigestFrequency, Notification

PAGE_SIZE = 30

# The model's own labels are shared words ("never" is also a token's expiry); on this page
# they answer "how often do you want e-mail".
EMAIL_CHOICES = [
    (DigestFrequency.DAILY, pgettext_lazy("e-mail frequency", "Once a day, a digest at 07:30")),
    (DigestFrequency.IMMEDIATE, pgettext_lazy("e-mail frequency", "At once, for each one")),
    (DigestFrequency.NEVER, pgettext_lazy("e-mail frequency", "Never")),
]


class PreferenceForm(forms.Form):
    email = forms.ChoiceField(
        label=gettext_lazy("E-mail me my notifications"),
        choices=EMAIL_CHOICES,
        widget=forms.RadioSelect,
    )
    muted_events = forms.MultipleChoiceField(
        label=gettext_lazy("Do not notify me of"),
        choices=[(key, label) for key, label in notifications.EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


@login_required
def notification_inbox(request: HttpRequest) -> HttpResponse:
    """Unread first, then newest; ``?show=unread`` for the unread ones only."""
    show = "unread" if request.GET.get("show") == "unread" else "all"
    inbox = Notification.objects.filter(recipient=request.user)
    if show == "unread":
        inbox = inbox.filter(read_at__isnull=True)
    inbox = inbox.order_by(
        Case(When(read_at__isnull=True, then=Value(0)), default=Value(1)), "-created_at", "-id"
    )
    page = Paginator(inbox, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page:
        item.event_label = notifications.EVENTS.get(item.event, item.event)
    return render(request, "supervision/notifications.html", {"page_obj": page, "show": show})


def _back(request: HttpRequest, fallback: str = "notification_inbox") -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read, then go where ``next`` says (the notification's link) or to the inbox."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.mark_read(request.user, [notification.pk])
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    changed = notifications.mark_all_read(request.user)
    messages.success(request, _("Marked %(count)s notifications read.") % {"count": changed})
    return redirect("notification_inbox")


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    preference = notifications.preference_for(request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                notifications.preference_save(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Your notification settings are saved."))
                return redirect("notification_preferences")
    else:
        form = PreferenceForm(
            initial={"email": preference.email, "muted_events": preference.muted_events}
        )
    return render(
        request,
        "supervision/notifications_preferences.html",
        {"form": form, "has_email": bool(request.user.email)},
    )
