from django.apps import AppConfig


class FlexpassConfig(AppConfig):
    name = "flexpass"
    verbose_name = "FlexPass platform"
