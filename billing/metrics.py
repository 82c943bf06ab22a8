"""Prometheus counters for billing (served by /metrics with the rest)."""

from prometheus_client import Counter

SIGNATURE_FAILURES = Counter(
    "flexpass_billing_signature_failures_total",
    "Payment returns and webhooks refused because their signature did not match",
    ["source"],
)
WEBHOOKS = Counter(
    "flexpass_billing_webhooks_total", "Valid gateway webhooks by outcome", ["outcome"]
)
