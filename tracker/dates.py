"""The window of plausible dates: every date a person or a client enters lies in it.

Dates such as 0001-01-01 or 9999-12-31 are typing slips or probes, never a milestone of a county
project; stored, they would distort every sum, ranking and chart that spans them. One window for
the whole product: model fields, forms, API fields and query parameters all use the validators
here, so the message is the same everywhere.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def outside_window_message() -> str:
    return _("Enter a date between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST_DATE.isoformat(),
        "latest": LATEST_DATE.isoformat(),
    }


def is_plausible(value: dt.date) -> bool:
    if isinstance(value, dt.datetime):
        value = value.date()
    return EARLIEST_DATE <= value <= LATEST_DATE


def validate_plausible_date(value: dt.date | None) -> None:
    """A date (or a date and time) inside the window; None passes (blank is the field's rule)."""
    if value is not None and not is_plausible(value):
        raise ValidationError(outside_window_message(), code="implausible_date")


def validate_plausible_year(value: int | None) -> None:
    if value is not None and not EARLIEST_DATE.year <= value <= LATEST_DATE.year:
        raise ValidationError(
            _("Enter a year between %(earliest)d and %(latest)d.")
            % {"earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year},
            code="implausible_year",
        )


def parse_plausible_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` from a query parameter, inside the window; ValidationError otherwise."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}, code="invalid"
        ) from None
    validate_plausible_date(day)
    return day


# What a browser's date picker offers: the same window.
DATE_PICKER_ATTRS = {
    "type": "date",
    "min": EARLIEST_DATE.isoformat(),
    "max": LATEST_DATE.isoformat(),
}


class PlausibleDateField(forms.DateField):
    """A form's date field that refuses dates outside the window."""

    default_validators = [validate_plausible_date]


class PlausibleDateFilter(django_filters.DateFilter):
    """A ``?…=YYYY-MM-DD`` filter that refuses dates outside the window."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("validators", [validate_plausible_date])
        super().__init__(*args, **kwargs)


class PlausibleDateRangeField(django_filters.fields.DateRangeField):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields:
            field.validators.append(validate_plausible_date)


class PlausibleDateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    """``?…_after=`` and ``?…_before=``, each inside the window."""

    field_class = PlausibleDateRangeField
