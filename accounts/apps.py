from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's own app is "Accounts" (email addresses) in the admin: two sections of
    # the same name read as a mistake.
    verbose_name = "People"
