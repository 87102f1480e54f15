"""The ledger in the admin: read-only (every change goes through the pages, the API and their
services, which keep the timeline); administrators can look anything up, with its history."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from supervision.models import ExtensionRequest, Issue, IssueEvent


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = IssueEvent
    fields = ["created_at", "kind", "actor", "actor_unit", "level", "deadline", "text"]
    readonly_fields = fields


class ExtensionInline(ReadOnlyInline):
    model = ExtensionRequest
    fields = ["requested_at", "requested_deadline", "reason", "status", "decided_by", "decided_at"]
    readonly_fields = fields


@admin.register(Issue)
class IssueAdmin(SimpleHistoryAdmin):
    list_display = ["number", "title", "unit", "status", "level", "deadline", "raised_on"]
    list_filter = ["status", "level", "source", "category", "awaiting_office"]
    search_fields = ["title", "description", "project__name", "unit__name"]
    date_hierarchy = "raised_on"
    list_select_related = ["unit"]
    inlines = [EventInline, ExtensionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
