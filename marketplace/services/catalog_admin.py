"""A vendor manages its own catalog: services and plans (create, edit, pause, resume).

Every function takes the acting `vendor` and only ever touches that vendor's
rows: another vendor's id raises NotFound, exactly like an id that does not
exist. Each change invalidates the catalog cache after it commits
(catalog_cache_invalidate; status changes are conditional UPDATEs, which send
no signal), so a paused service or plan never shows on the catalog once the
pause has committed. Passes already sold keep working: pausing stops new sales.
"""

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from flexpass.errors import DomainError, NotFound
from marketplace.catalog_cache import catalog_cache_invalidate
from marketplace.models import (
    Category,
    MeteredUnit,
    Plan,
    PlanKind,
    Service,
    ServiceStatus,
    VendorProfile,
)

SLUG_ATTEMPTS = 20
MAX_PRICE_PAISE = 10_00_000_00  # ₹10,00,000: a typo guard, not a business rule


class CatalogChangeRefused(DomainError):
    code = "catalog_change_refused"
    title = "Change refused"


def service_access(*, vendor: VendorProfile, service_id: int) -> Service:
    service = (
        Service.objects.select_related("category").filter(pk=service_id, vendor=vendor).first()
    )
    if service is None:
        raise NotFound("No such service.")
    return service


def plan_access(*, vendor: VendorProfile, plan_id: int) -> Plan:
    plan = Plan.objects.select_related("service").filter(pk=plan_id, service__vendor=vendor).first()
    if plan is None:
        raise NotFound("No such plan.")
    return plan


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "service"
    taken = set(Service.objects.filter(slug__startswith=base).values_list("slug", flat=True)[:500])
    if base not in taken:
        return base
    for n in range(2, 2 + SLUG_ATTEMPTS):
        if f"{base}-{n}" not in taken:
            return f"{base}-{n}"
    return f"{base}-{timezone.now().strftime('%y%m%d%H%M%S%f')}"


def _check_status(status: str) -> str:
    if status not in ServiceStatus.values:
        raise CatalogChangeRefused("Status must be draft, live or paused.", field="status")
    return status


@transaction.atomic
def service_create(
    *,
    vendor: VendorProfile,
    name: str,
    category: Category,
    tagline: str = "",
    description: str = "",
    logo: UploadedFile | None = None,
    status: str = ServiceStatus.DRAFT,
) -> Service:
    name = name.strip()
    if not name:
        raise CatalogChangeRefused("Give the service a name.", field="name")
    now = timezone.now()
    service = Service(
        vendor=vendor,
        name=name[:120],
        category=category,
        tagline=tagline.strip()[:160],
        description=description.strip(),
        status=_check_status(status),
        created_at=now,
        updated_at=now,
    )
    if logo:
        service.logo = logo
    for _ in range(3):  # a concurrent create may take the same slug first
        service.slug = _unique_slug(name)
        try:
            with transaction.atomic():
                service.save()
            break
        except IntegrityError:
            service.pk = None
    else:
        raise CatalogChangeRefused("Could not name this service; try again.", field="name")
    catalog_cache_invalidate()
    return service


@transaction.atomic
def service_update(
    *,
    vendor: VendorProfile,
    service_id: int,
    name: str,
    category: Category,
    tagline: str = "",
    description: str = "",
    logo: UploadedFile | None = None,
    clear_logo: bool = False,
    status: str | None = None,
) -> Service:
    """Edit a service's listing. The slug (its address) stays, so links keep working."""
    service = service_access(vendor=vendor, service_id=service_id)
    name = name.strip()
    if not name:
        raise CatalogChangeRefused("Give the service a name.", field="name")
    service.name = name[:120]
    service.category = category
    service.tagline = tagline.strip()[:160]
    service.description = description.strip()
    fields = ["name", "category", "tagline", "description", "updated_at"]
    if status is not None:
        service.status = _check_status(status)
        fields.append("status")
    if logo:
        service.logo = logo
        fields.append("logo")
    elif clear_logo and service.logo:
        service.logo = ""
        fields.append("logo")
    service.updated_at = timezone.now()
    service.save(update_fields=fields)
    catalog_cache_invalidate()
    return service


def service_set_status(*, vendor: VendorProfile, service_id: int, status: str) -> Service:
    """Publish, pause or resume: a paused service leaves the catalog once this commits."""
    _check_status(status)
    with transaction.atomic():
        changed = Service.objects.filter(pk=service_id, vendor=vendor).update(
            status=status, updated_at=timezone.now()
        )
        if not changed:
            raise NotFound("No such service.")
        catalog_cache_invalidate()
    return service_access(vendor=vendor, service_id=service_id)


@dataclass(frozen=True)
class PlanTerms:
    """What a plan sells, already parsed (prices in paise)."""

    kind: str
    name: str
    description: str = ""
    price_paise: int = 0
    duration_hours: int | None = None
    units: int | None = None
    unit_label: str = ""
    validity_days: int | None = None
    metered_rate_paise: int | None = None
    metered_unit: str = ""


def _plan_values(terms: PlanTerms) -> dict:
    """The model fields for `terms`, or CatalogChangeRefused naming the field at fault."""
    name = terms.name.strip()
    if not name:
        raise CatalogChangeRefused("Give the plan a name.", field="name")

    def positive(value, field: str, label: str) -> int:
        if value is None or value <= 0:
            raise CatalogChangeRefused(f"{label} must be more than zero.", field=field)
        return value

    def price(value, field: str) -> int:
        positive(value, field, "The price")
        if value > MAX_PRICE_PAISE:
            raise CatalogChangeRefused("That price is too high.", field=field)
        return value

    values = {
        "kind": terms.kind,
        "name": name[:80],
        "description": terms.description.strip()[:200],
        "price_paise": 0,
        "duration_hours": 24,
        "units": None,
        "unit_label": "calls",
        "validity_days": None,
        "metered_rate_paise": None,
        "metered_unit": "",
    }
    if terms.kind == PlanKind.TIME:
        values["price_paise"] = price(terms.price_paise, "price")
        values["duration_hours"] = positive(terms.duration_hours, "duration_hours", "Duration")
    elif terms.kind == PlanKind.USAGE:
        values["price_paise"] = price(terms.price_paise, "price")
        values["units"] = positive(terms.units, "units", "Units")
        values["unit_label"] = (terms.unit_label.strip() or "calls")[:30]
        if terms.validity_days is not None:
            values["validity_days"] = positive(terms.validity_days, "validity_days", "Validity")
    elif terms.kind == PlanKind.METERED:
        values["metered_rate_paise"] = price(terms.metered_rate_paise, "metered_rate")
        if terms.metered_unit not in MeteredUnit.values:
            raise CatalogChangeRefused(
                "Bill per second, per minute or per call.", field="metered_unit"
            )
        values["metered_unit"] = terms.metered_unit
    else:
        raise CatalogChangeRefused("A plan is a time pass, a usage pass or metered.", field="kind")
    return values


@transaction.atomic
def plan_create(*, vendor: VendorProfile, service_id: int, terms: PlanTerms) -> Plan:
    service = service_access(vendor=vendor, service_id=service_id)
    now = timezone.now()
    position = service.plans.count()
    plan = Plan.objects.create(
        service=service, position=position, created_at=now, updated_at=now, **_plan_values(terms)
    )
    catalog_cache_invalidate()
    return plan


@transaction.atomic
def plan_update(*, vendor: VendorProfile, plan_id: int, terms: PlanTerms) -> Plan:
    """Change a plan's terms. Its kind stays (sold passes refer to it); passes already sold
    keep what they were sold with (price and units live on the purchase and the pass)."""
    plan = plan_access(vendor=vendor, plan_id=plan_id)
    if terms.kind != plan.kind:
        raise CatalogChangeRefused("A plan's kind cannot change; add a new plan.", field="kind")
    values = _plan_values(terms)
    for field, value in values.items():
        setattr(plan, field, value)
    plan.updated_at = timezone.now()
    plan.save(update_fields=[*values, "updated_at"])
    catalog_cache_invalidate()
    return plan


def plan_set_active(*, vendor: VendorProfile, plan_id: int, active: bool) -> Plan:
    """Pause (stop selling) or resume a plan."""
    with transaction.atomic():
        changed = Plan.objects.filter(pk=plan_id, service__vendor=vendor).update(
            is_active=active, updated_at=timezone.now()
        )
        if not changed:
            raise NotFound("No such plan.")
        catalog_cache_invalidate()
    return plan_access(vendor=vendor, plan_id=plan_id)
