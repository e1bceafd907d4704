from django.urls import path

from notifications import apis

urlpatterns = [
    path("realtime/ticket", apis.RealtimeTicketApi.as_view(), name="realtime-ticket"),
    path("devices", apis.DeviceCreateApi.as_view(), name="devices"),
    path("devices/<int:device_id>", apis.DeviceDeleteApi.as_view(), name="device-detail"),
]
