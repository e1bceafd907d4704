"""Read-mostly views of the notifications tables for the association's staff."""

from django.contrib import admin

from notifications.models import Device, Event, PushOutbox


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "platform", "locale", "created_at", "updated_at"]
    list_filter = ["platform"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["token"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "seq", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["recipient__email"]
    raw_id_fields = ["recipient"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PushOutbox)
class PushOutboxAdmin(admin.ModelAdmin):
    list_display = ["event", "status", "reason", "attempts", "due_at", "expires_at"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["event"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
