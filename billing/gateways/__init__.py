"""Which payment gateway to use: real Razorpay when its keys are set, else the simulator."""

from django.conf import settings

from billing.errors import GatewayUnavailable
from billing.gateways.base import GatewayOrder, GatewayPayment, PaymentGateway
from billing.gateways.razorpay_live import RazorpayGateway
from billing.gateways.simulated import SimulatedRazorpay

__all__ = ["GatewayOrder", "GatewayPayment", "PaymentGateway", "active_gateway", "gateway_named"]


def _razorpay_configured() -> bool:
    return bool(settings.RAZORPAY_KEY_ID and settings.RAZORPAY_KEY_SECRET)


def gateway_named(name: str) -> PaymentGateway:
    """The gateway a top-up was made with (TopUp.gateway)."""
    if name == RazorpayGateway.name:
        if not _razorpay_configured():
            raise GatewayUnavailable("Razorpay keys are not configured.")
        return RazorpayGateway(
            key_id=settings.RAZORPAY_KEY_ID,
            key_secret=settings.RAZORPAY_KEY_SECRET,
            webhook_secret=settings.RAZORPAY_WEBHOOK_SECRET,
            timeout=settings.RAZORPAY_TIMEOUT_SECONDS,
        )
    if name == SimulatedRazorpay.name:
        if not settings.SIMULATED_RAZORPAY_ENABLED:
            raise GatewayUnavailable("Top-ups are not available: no payment gateway is configured.")
        return SimulatedRazorpay(
            key_id=settings.SIMULATED_RAZORPAY_KEY_ID,
            key_secret=settings.SIMULATED_RAZORPAY_KEY_SECRET,
            webhook_secret=settings.SIMULATED_RAZORPAY_WEBHOOK_SECRET,
        )
    raise GatewayUnavailable(f"Unknown payment gateway {name!r}.")


def active_gateway() -> PaymentGateway:
    """The gateway new top-ups use and whose webhooks /webhooks/razorpay accepts."""
    return gateway_named(RazorpayGateway.name if _razorpay_configured() else SimulatedRazorpay.name)


def simulator() -> SimulatedRazorpay:
    gateway = gateway_named(SimulatedRazorpay.name)
    assert isinstance(gateway, SimulatedRazorpay)
    return gateway
