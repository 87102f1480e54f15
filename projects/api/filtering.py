"""The API's filter backend: django-filter's, minus its cost when there is nothing to filter."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

# Query parameters that never name a filter (pagination, StandardPagination).
NOT_FILTERS = frozenset({"page", "page_size"})


class FilterBackend(DjangoFilterBackend):
    """django-filter builds and validates a form of every filter on each request, about a fifth
    of a page of 50 projects (docs/benchmarks.md, "API throughput"). A request with no query
    parameter but the page's has nothing to filter: every filter would receive an empty value,
    which leaves the queryset as it is, so the form is skipped."""

    def filter_queryset(self, request, queryset, view):
        if request.query_params.keys() <= NOT_FILTERS:
            return queryset
        return super().filter_queryset(request, queryset, view)

    @property
    def filterset_base(self):  # for views that list ``filterset_fields`` only
        return ApiFilterSet


class StrictBooleanField(forms.NullBooleanField):
    """A yes/no query parameter: ``true``/``false`` (or ``1``/``0``), anything else refused.
    django-filter's own reads an unknown value ("maybe", "yes") as no filter at all, so the
    client silently gets everything."""

    widget = forms.TextInput  # the raw value, not NullBooleanSelect's reading of it

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(_("Enter true or false."), code="invalid")

    def validate(self, value) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ApiFilterSet(django_filters.FilterSet):
    """The API's filter sets: a model's boolean fields filtered with ``StrictBooleanFilter``."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }
