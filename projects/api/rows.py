"""Lists answered from value rows: the serializer's JSON without building model instances.

Measured (docs/benchmarks.md, "API throughput"): a page of 50 projects through DRF's
``ModelSerializer`` spent most of its time building the 50 projects and their prefetched tags,
units and leaders as model instances, then walking every field of every object through DRF's
attribute lookups; the list answered at a sixth of the rate of ``/api/v1/me/``. Here a read-only
serializer is compiled once into columns. On PostgreSQL one query reads the page with
``values()``, each many-to-many field as an ordered array (the related model's own ordering, as
a prefetch has it) and the list's count (``COUNT(*) OVER ()``); elsewhere (the SQLite demo) each
many-to-many field takes one query for the page. Each value is formatted as its serializer field
formats it (dates, times in the current time zone, decimals as strings; DRF's own
``to_representation`` for any set-up the fast paths do not cover) or, for strings, integers and
booleans, taken as it is. The same JSON as the serializer's, which tests/test_api_rows.py
compares object for object, key order included.

A serializer field this module does not know (a nested serializer, a method field) is refused
when the rows are compiled, so a new field cannot silently come out wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Count, Expression, OuterRef, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings

from projects.api.views import StandardPagination

# Fields whose representation of a non-null value read from the database is the value itself.
TAKEN_AS_IS = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.IntegerField,
    serializers.BooleanField,
)


def _lookup(source: str) -> str:
    return source.replace(".", "__")


def _converter(field: serializers.Field) -> Callable[[Any, tzinfo], Any]:
    def convert(value: Any, zone: tzinfo) -> Any:
        return field.to_representation(value)

    return convert


def _date_converter(field: serializers.DateField) -> Callable[[Any, tzinfo], Any]:
    """DRF's ISO 8601 date (``isoformat()``) without its per-value checks."""
    output_format = getattr(field, "format", api_settings.DATE_FORMAT)
    if not isinstance(output_format, str) or output_format.lower() != ISO_8601:
        return _converter(field)

    def convert(value: dt.date, zone: tzinfo) -> Any:
        if isinstance(value, dt.datetime):
            return field.to_representation(value)  # DRF refuses it: so do we
        return value.isoformat()

    return convert


def _decimal_converter(field: serializers.DecimalField) -> Callable[[Any, tzinfo], Any]:
    """DRF's decimal string for a value that already has the field's decimal places (a column's
    ``numeric(p, s)`` value has): quantizing it changes nothing, so it is only formatted."""
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if not coerce or field.normalize_output or field.localize or field.decimal_places is None:
        return _converter(field)
    exponent = -field.decimal_places

    def convert(value: Any, zone: tzinfo) -> Any:
        if (
            isinstance(value, Decimal)
            and value.is_finite()
            and value.as_tuple().exponent == exponent
        ):
            return f"{value:f}"
        return field.to_representation(value)

    return convert


def _datetime_converter(field: serializers.DateTimeField) -> Callable[[Any, tzinfo], Any]:
    """DRF's ``DateTimeField.to_representation`` for ISO 8601 in the current time zone, with
    the zone looked up once a page rather than once a value (a fifth of a page of 50 projects);
    any other set-up (a format, a time zone of the field's own, naive times) is DRF's own."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if (
        not settings.USE_TZ
        or hasattr(field, "timezone")
        or not isinstance(output_format, str)
        or output_format.lower() != ISO_8601
    ):
        return _converter(field)

    def convert(value: dt.datetime, zone: tzinfo) -> str:
        if value.tzinfo is None:
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


class ValueRows:
    """One read-only ``ModelSerializer``, compiled into value columns."""

    def __init__(self, serializer_class: type[serializers.ModelSerializer]):
        serializer = serializer_class()
        self.model: type[models.Model] = serializer.Meta.model
        # (JSON key, values() lookup, converter(value, time zone) or None when taken as it is)
        self.columns: list[tuple[str, str, Callable[[Any, tzinfo], Any] | None]] = []
        # (JSON key, many-to-many field, value lookup on the through table)
        self.many: list[tuple[str, models.ManyToManyField, str]] = []
        for name, field in serializer.fields.items():
            if isinstance(field, relations.ManyRelatedField):
                self.many.append((name, *self._many(field)))
                self.columns.append((name, f"_many_{name}", None))
            elif isinstance(field, relations.PrimaryKeyRelatedField):
                self.columns.append((name, f"{_lookup(field.source)}_id", None))
            elif isinstance(field, serializers.DateTimeField):
                self.columns.append((name, _lookup(field.source), _datetime_converter(field)))
            elif isinstance(field, serializers.DateField):
                self.columns.append((name, _lookup(field.source), _date_converter(field)))
            elif isinstance(field, serializers.DecimalField):
                self.columns.append((name, _lookup(field.source), _decimal_converter(field)))
            elif isinstance(field, TAKEN_AS_IS):
                converter = None if type(field) in TAKEN_AS_IS else _converter(field)
                self.columns.append((name, _lookup(field.source), converter))
            else:
                raise ImproperlyConfigured(
                    f"{serializer_class.__name__}.{name}: {type(field).__name__} cannot be "
                    "read from value rows"
                )
        self.lookups = list(
            dict.fromkeys(
                lookup for _, lookup, _ in self.columns if not lookup.startswith("_many_")
            )
        )
        if "pk" not in self.lookups and "id" not in self.lookups:
            raise ImproperlyConfigured(f"{serializer_class.__name__} must include the id")

    def _many(self, field: relations.ManyRelatedField) -> tuple[models.ManyToManyField, str]:
        m2m = self.model._meta.get_field(field.source)
        if not isinstance(m2m, models.ManyToManyField):
            raise ImproperlyConfigured(f"{field.source} is not a many-to-many field")
        target = m2m.m2m_reverse_field_name()
        child = field.child_relation
        if isinstance(child, relations.SlugRelatedField):
            return m2m, f"{target}__{child.slug_field}"
        if type(child) is relations.PrimaryKeyRelatedField:
            return m2m, f"{target}_id"
        raise ImproperlyConfigured(f"{field.source}: {type(child).__name__} is not supported")

    def values(self, queryset: QuerySet) -> QuerySet:
        """The list's rows, as dicts, in the queryset's order. On PostgreSQL each many-to-many
        field comes in the same query as an ordered array; elsewhere (the SQLite demo) ``render``
        reads each with one query for the page."""
        queryset = queryset.prefetch_related(None)
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.values(*self.lookups)
        return queryset.annotate(**self._arrays(connection.alias)).values(
            *self.lookups, *(f"_many_{name}" for name, _, _ in self.many)
        )

    @functools.cache  # noqa: B019 (one ValueRows a serializer, kept for the process anyway)
    def _arrays(self, alias: str) -> dict[str, Expression]:
        quote = connections[alias].ops.quote_name
        return {f"_many_{name}": self._array(m2m, lookup, quote) for name, m2m, lookup in self.many}

    def _array(self, m2m: models.ManyToManyField, lookup: str, quote) -> Expression:
        """``ARRAY(SELECT … ORDER BY …)`` of one object's related values. Written as SQL when the
        related model orders by its own columns: the ORM compiles the equivalent subquery on
        every request, for a third of the page's time (a page of 50 projects, 4.3 ms against
        3.1 ms); as an ``ArraySubquery`` otherwise."""
        related = m2m.related_model._meta
        through = m2m.remote_field.through._meta
        target_column = through.get_field(m2m.m2m_reverse_field_name()).column
        order = []
        for name in [*related.ordering, "pk"]:
            if not isinstance(name, str) or "__" in name or name.lstrip("-") == "?":
                return self._array_subquery(m2m, lookup)
            field = related.pk if name.lstrip("-") == "pk" else related.get_field(name.lstrip("-"))
            if field.is_relation:  # ordered by that model's own ordering: the ORM knows it
                return self._array_subquery(m2m, lookup)
            order.append(f"T.{quote(field.column)}{' DESC' if name.startswith('-') else ''}")
        if lookup.endswith("_id"):
            value, base = f"M.{quote(target_column)}", models.BigIntegerField()
        else:
            slug = related.get_field(lookup.split("__", 1)[1])
            value, base = f"T.{quote(slug.column)}", models.TextField()
        # Only model metadata, quoted, goes into the SQL: no value from a request.
        sql = (
            f"ARRAY(SELECT {value} FROM {quote(through.db_table)} M "  # noqa: S608
            f"INNER JOIN {quote(related.db_table)} T ON M.{quote(target_column)} = "
            f"T.{quote(related.pk.column)} "
            f"WHERE M.{quote(through.get_field(m2m.m2m_field_name()).column)} = "
            f"{quote(self.model._meta.db_table)}.{quote(self.model._meta.pk.column)} "
            f"ORDER BY {', '.join(order)})"
        )
        return RawSQL(sql, [], output_field=ArrayField(base))  # noqa: S611

    def render(self, rows: Iterable[dict]) -> list[dict]:
        rows = list(rows)
        pk = "id" if "id" in self.lookups else "pk"
        if rows and self.many and f"_many_{self.many[0][0]}" not in rows[0]:
            ids = [row[pk] for row in rows]
            for name, m2m, lookup in self.many:
                related = self._related(m2m, lookup, ids)
                for row in rows:
                    row[f"_many_{name}"] = related.get(row[pk], [])
        zone = timezone.get_current_timezone()  # DRF looks it up for every value
        return [
            {
                name: (
                    row[key] if converter is None or row[key] is None else converter(row[key], zone)
                )
                for name, key, converter in self.columns
            }
            for row in rows
        ]

    def _array_subquery(self, m2m: models.ManyToManyField, lookup: str) -> Expression:
        through = self._through(m2m, lookup)
        return ArraySubquery(through.filter(**{f"{m2m.m2m_field_name()}_id": OuterRef("pk")}))

    @staticmethod
    def _through(m2m: models.ManyToManyField, lookup: str) -> QuerySet:
        """The through table's values of ``lookup``, in the related model's own order, as a
        prefetch has them."""
        target = m2m.m2m_reverse_field_name()
        ordering = [
            f"-{target}__{o[1:]}" if o.startswith("-") else f"{target}__{o}"
            for o in m2m.related_model._meta.ordering
        ]
        return m2m.remote_field.through.objects.order_by(*ordering, f"{target}_id").values(lookup)

    def _related(self, m2m: models.ManyToManyField, lookup: str, ids: list) -> dict[Any, list]:
        source = m2m.m2m_field_name()
        pairs = (
            self._through(m2m, lookup)
            .filter(**{f"{source}_id__in": ids})
            .values_list(f"{source}_id", lookup)
        )
        grouped: dict[Any, list] = defaultdict(list)
        for owner, value in pairs:
            grouped[owner].append(value)
        return grouped


@functools.cache
def value_rows(serializer_class: type[serializers.ModelSerializer]) -> ValueRows:
    return ValueRows(serializer_class)


MAX_PAGE = 10**12


class PageCountedPaginator(Paginator):
    """Counts the list with its page's own query (``COUNT(*) OVER ()``): one query instead of a
    count and a page, whose visibility condition the ORM would compile twice (the count was an
    eighth of a page of 50 projects). PostgreSQL computes the page's arrays after its LIMIT, for
    the page's rows only. A page with no row to carry the count (an empty list, a page past the
    end), a non-numeric page and a DISTINCT or combined query are counted as Django does."""

    def page(self, number):
        query = self.object_list.query
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            wanted = 0
        if (
            wanted < 1
            or wanted > MAX_PAGE  # its OFFSET would not fit PostgreSQL's bigint: no such page
            or self.orphans
            or query.distinct
            or query.combinator
        ):
            return super().page(number)
        bottom = (wanted - 1) * self.per_page
        counted = self.object_list.annotate(_total=Window(Count("*")))
        rows = list(counted[bottom : bottom + self.per_page])
        if not rows:
            return super().page(number)
        self.count = rows[0]["_total"]  # Paginator.count is a cached_property: this is its value
        return self._get_page(rows, self.validate_number(wanted), self)


class PageCountedPagination(StandardPagination):
    django_paginator_class = PageCountedPaginator


class ValueRowsListMixin:
    """``list()`` from value rows, counted with the page; detail views and writes keep the
    serializer."""

    pagination_class = PageCountedPagination

    def list(self, request, *args, **kwargs) -> Response:
        rows = value_rows(self.get_serializer_class())
        queryset = rows.values(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(rows.render(queryset))
        return self.get_paginated_response(rows.render(page))
