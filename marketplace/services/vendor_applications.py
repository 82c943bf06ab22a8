"""Become a vendor: apply (customers), approve or reject (staff, with an audit trail)."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from flexpass.errors import Conflict, DomainError
from marketplace.models import VendorApplication, VendorApplicationStatus, VendorProfile


def vendor_apply(*, user, business_name: str, payout_details: str) -> VendorApplication:
    business_name, payout_details = business_name.strip(), payout_details.strip()
    if not business_name or not payout_details:
        raise DomainError("Business name and payout details are required.")
    if hasattr(user, "vendor_profile"):
        raise Conflict("You are already a vendor.")
    try:
        with transaction.atomic():
            return VendorApplication.objects.create(
                user=user, business_name=business_name[:120], payout_details=payout_details[:200]
            )
    except IntegrityError as exc:
        raise Conflict("You already have an application waiting for review.") from exc


@transaction.atomic
def vendor_application_decide(
    *, application_id: int, approve: bool, acting_user
) -> VendorApplication:
    """Approve (creates the VendorProfile, role -> vendor) or reject a pending application."""
    app = (
        VendorApplication.objects.select_for_update().select_related("user").get(pk=application_id)
    )
    if app.status != VendorApplicationStatus.PENDING:
        raise Conflict("This application was already decided.")
    app.status = VendorApplicationStatus.APPROVED if approve else VendorApplicationStatus.REJECTED
    app.decided_by, app.decided_at = acting_user, timezone.now()
    app.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        base = slugify(app.business_name)[:60] or "vendor"
        slug, n = base, 1
        while VendorProfile.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        VendorProfile.objects.create(user=app.user, business_name=app.business_name, slug=slug)
        type(app.user).objects.filter(pk=app.user_id).update(role="vendor")
    return app
