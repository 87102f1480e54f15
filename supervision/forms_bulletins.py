"""The supervisor's commentary (点评) on a draft ranking, printed in its bulletin."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from supervision.models import COMMENTARY_MAX_LENGTH


class CommentaryForm(forms.Form):
    label_suffix = ""
    commentary = forms.CharField(
        label=_("Commentary for the bulletin"),
        required=False,
        max_length=COMMENTARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One paragraph per line. It is printed in the bulletin and frozen on publishing."
        ),
    )
