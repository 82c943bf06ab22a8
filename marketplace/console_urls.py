"""/vendor/...: the vendor console (marketplace.console_views) and the application to sell."""

from django.urls import path

from marketplace import console_views as views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("apply/", views.apply, name="apply"),
    path("services/", views.services, name="services"),
    path("services/new/", views.service_new, name="service_new"),
    path("services/<int:service_id>/", views.service_edit, name="service"),
    path("services/<int:service_id>/status/", views.service_status, name="service_status"),
    path("services/<int:service_id>/plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:plan_id>/", views.plan_edit, name="plan"),
    path("plans/<int:plan_id>/active/", views.plan_active, name="plan_active"),
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/move/", views.earnings_move, name="earnings_move"),
    path("passes/", views.passes, name="passes"),
    path("webhooks/", views.webhooks_page, name="webhooks"),
    path("webhooks/<int:endpoint_id>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/active/", views.webhook_active, name="webhook_active"),
    path("webhooks/replay/", views.webhook_replay, name="webhook_replay_all"),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay/",
        views.webhook_replay,
        name="webhook_replay",
    ),
    path("keys/", views.api_keys, name="keys"),
    path("keys/<int:key_id>/revoke/", views.api_key_revoke, name="key_revoke"),
    path("keys/test-passes/", views.test_pass_mint, name="test_pass_mint"),
]
