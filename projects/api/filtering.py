"""The API's filter backend: django-filter's, minus its cost when there is nothing to filter."""

from __future__ import annotations

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
