from django.apps import AppConfig
from django.conf import settings


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from accounts import rgpd
        from notifications.rgpd import HANDLER

        rgpd.register(HANDLER)

        from accounts.signals import sessions_ended
        from notifications.fanout import sessions_ended_close

        sessions_ended.connect(sessions_ended_close, dispatch_uid="notifications.sessions_ended")
        # Production fails closed: push enabled means credentials that work, or no start at all.
        if settings.PRODUCTION:
            from notifications.fcm import fcm_credentials_check

            fcm_credentials_check()
