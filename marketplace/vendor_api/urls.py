"""/api/v1/vendor/...: the server-to-server API, authenticated by `Bearer fp_...` keys."""

from django.urls import path

from marketplace.vendor_api import views

app_name = "vendor_api"

urlpatterns = [
    path("access/check/", views.AccessCheckView.as_view(), name="access-check"),
    path("usage/events/", views.UsageEventView.as_view(), name="usage-event"),
    path("usage/batch/", views.UsageBatchView.as_view(), name="usage-batch"),
    path("test-passes/", views.TestPassView.as_view(), name="test-passes"),
    path("webhooks/endpoints/", views.WebhookEndpointView.as_view(), name="webhook-endpoints"),
    path("webhooks/deliveries/", views.WebhookDeliveryListView.as_view(), name="deliveries"),
    path("webhooks/replay/", views.WebhookReplayView.as_view(), name="replay-all"),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay/",
        views.WebhookReplayView.as_view(),
        name="replay-one",
    ),
    path("sessions/", views.SessionStartView.as_view(), name="session-start"),
    path("sessions/<str:token>/heartbeat/", views.SessionHeartbeatView.as_view(), name="heartbeat"),
    path("sessions/<str:token>/stop/", views.SessionStopView.as_view(), name="session-stop"),
]
