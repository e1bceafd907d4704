from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import rgpd
        from accounts.services.deletion import ACCOUNTS_HANDLER

        rgpd.register(ACCOUNTS_HANDLER)
