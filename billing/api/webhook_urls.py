"""Mounted at /api/v1/billing/: what payment gateways call."""

from django.urls import path

from billing.api import views

app_name = "billing_webhooks"
urlpatterns = [
    path("webhooks/razorpay", views.RazorpayWebhookApi.as_view(), name="razorpay"),
]
