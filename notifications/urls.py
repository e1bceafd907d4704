from django.urls import path

from notifications import apis

urlpatterns = [
    path("realtime/ticket", apis.RealtimeTicketApi.as_view(), name="realtime-ticket"),
    path("devices", apis.DeviceCreateApi.as_view(), name="devices"),
    path("devices/<int:device_id>", apis.DeviceDeleteApi.as_view(), name="device-detail"),
    path("notifications", apis.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/unread-count",
        apis.NotificationUnreadCountApi.as_view(),
        name="notifications-unread-count",
    ),
    path(
        "notifications/read-all",
        apis.NotificationReadAllApi.as_view(),
        name="notifications-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read",
        apis.NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
