"""What to tell a person whose write the database refused.

The services validate every write (``full_clean`` checks each constraint with its message), so
an ``IntegrityError`` means two writes raced past each other's checks: both saw no report for
the period, both inserted one. The constraint the database names is looked up among the models'
constraints and its own message is shown; a unique constraint is a conflict (409: the other
write won, reload and look), any other a refusal (400). Never the constraint's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DataError, IntegrityError
from django.db.models import BaseConstraint, UniqueConstraint
from django.utils.translation import gettext as _

# PostgreSQL's SQLSTATE codes.
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


@dataclass(frozen=True)
class Refusal:
    status: int  # 400 or 409
    code: str
    reason: str  # what is wrong
    message: str  # the reason, and what to do about it


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)  # psycopg
    return getattr(diag, "constraint_name", None)


def constraint_named(name: str) -> BaseConstraint | None:
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.name == name:
                return constraint
    return None


def refusal_for(exc: IntegrityError | DataError) -> Refusal:
    if isinstance(exc, DataError):
        reason = _("A value is outside what can be stored. Check the input.")
        return Refusal(400, "invalid", reason, reason)
    name = _constraint_name(exc)
    constraint = constraint_named(name) if name else None
    pgcode = getattr(exc.__cause__, "pgcode", None)
    unique = isinstance(constraint, UniqueConstraint) or (
        constraint is None and pgcode == UNIQUE_VIOLATION
    )
    if (
        constraint is not None
        and constraint.violation_error_message != constraint.default_violation_error_message
    ):
        reason = str(constraint.get_violation_error_message())
    elif unique:
        reason = _("The same record was saved at the same moment by another request.")
    elif pgcode == FOREIGN_KEY_VIOLATION:
        reason = _("Something this change refers to was deleted meanwhile.")
    else:
        reason = _("The change contradicts data already saved. Check the input.")
    if unique or pgcode == FOREIGN_KEY_VIOLATION:
        return Refusal(
            409,
            "conflict",
            reason,
            _("%(reason)s Reload to see what was saved, then try again.") % {"reason": reason},
        )
    return Refusal(400, "invalid", reason, reason)
