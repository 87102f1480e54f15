"""Password validators: one that refuses default and demo passwords, and Django's minimum
length with a message the Chinese catalog has.

The embedded demo and the test suite give every account a documented password (demo12345,
pass12345); an account set up by copying those, or by the usual "admin123"/"Password1!" habit,
is the first thing an attacker tries. Django's CommonPasswordValidator does not know them.
"""

from __future__ import annotations

import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Words that default, demo and "first day" passwords are built from, compared after dropping
# digits, punctuation and case: "Demo@2026", "pass12345" and "Admin123!" are all refused.
DEFAULT_WORDS = frozenset(
    {
        "",  # digits and punctuation only
        "abc",
        "admin",
        "administrator",
        "changeme",
        "default",
        "demo",
        "guest",
        "letmein",
        "pass",
        "passw",
        "passwd",
        "password",
        "qwe",
        "qwer",
        "qwert",
        "qwerty",
        "root",
        "system",
        "test",
        "tracker",
        "user",
        "welcome",
        "xmdd",
    }
)
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def letters_of(password: str) -> str:
    """What is left of a password once its digits, punctuation and case are dropped."""
    return _NOT_LETTERS.sub("", password).casefold()


class KnownDefaultPasswordValidator:
    """Refuses a password made of a default word (or the user's own username) and digits or
    punctuation, such as the demo's demo12345."""

    def validate(self, password: str, user=None) -> None:
        letters = letters_of(password)
        username = letters_of(getattr(user, "username", "") or "")
        if letters in DEFAULT_WORDS or (username and letters == username):
            raise ValidationError(
                _(
                    "This password is a default or demo password, or your username with digits "
                    "added; choose one of your own."
                ),
                code="password_default",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password can't be a default or demo password (such as demo12345) or your "
            "username with digits added."
        )


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with a named placeholder: Django 5.2 changed its message to a positional ``%d``,
    which Django's own Chinese catalog does not translate yet, so it showed in English."""

    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short: it must contain at least %(min_length)d character.",
            "This password is too short: it must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
