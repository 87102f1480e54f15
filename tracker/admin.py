from django.contrib import admin

from tracker.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Work handed to the workers, to look into when something did not happen: read-only."""

    list_display = ("pk", "task", "created_at", "sent_at", "sends", "claimed_at", "done_at")
    list_filter = ("task",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
