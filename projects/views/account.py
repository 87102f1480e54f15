"""The user's own settings: API tokens (/accounts/tokens/)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from projects import tokens
from projects.models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the program that uses it."),
    )
    write = forms.BooleanField(
        label=gettext_lazy("Allow changes (read-write)"),
        required=False,
        help_text=gettext_lazy("Without it the token can only read."),
    )
    expires_days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=gettext_lazy("Leave empty for a token that does not expire."),
    )

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_days")
        return timezone.now() + dt.timedelta(days=days) if days else None


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens and create one; the new secret is shown on this response only."""
    secret = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, secret = tokens.token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            write=form.cleaned_data["write"],
            expires_at=form.expires_at(),
            actor=request.user,
        )
        form = ApiTokenForm()
    own_tokens = ApiToken.objects.filter(user=request.user)
    response = render(
        request,
        "projects/account_tokens.html",
        {"form": form, "tokens": own_tokens, "secret": secret, "now": timezone.now()},
    )
    if secret:
        # The secret must not linger in a cache or the browser's history.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's token is a 404: its existence is not revealed.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.token_revoke(token=token, actor=request.user)
    messages.success(request, _("The API token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api_tokens")
