"""Forms of the vendor console: parse and check input; the services decide.

Prices are typed in rupees and parsed with flexpass.money.parse_rupees into
integer paise. A refusal from a service (CatalogChangeRefused with a `field`)
is shown on that field through `add_domain_error`.
"""

from datetime import datetime, time
from urllib.parse import urlsplit

from django import forms
from django.utils import timezone

from flexpass.errors import DomainError
from flexpass.money import parse_rupees
from marketplace.models import (
    ApiKeyMode,
    Category,
    MeteredUnit,
    PlanKind,
    ServiceStatus,
)
from marketplace.services.catalog_admin import PlanTerms
from marketplace.services.webhooks import EVENT_TYPES

MAX_LOGO_BYTES = 1024 * 1024


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, str(exc))


class RupeesField(forms.Field):
    """'₹1,499.50' -> 149950 (paise)."""

    widget = forms.TextInput

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal", "placeholder": "0.00"}

    def to_python(self, value):
        value = str(value or "").strip()
        if not value:
            return None
        if len(value) > 20:
            raise forms.ValidationError("That amount is too long.")
        try:
            paise = parse_rupees(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if paise <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        return paise


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=120)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), empty_label=None)
    tagline = forms.CharField(
        max_length=160, required=False, help_text="One line shown on the catalog card."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    logo = forms.ImageField(required=False, help_text="PNG or JPEG, square, up to 1 MB.")
    status = forms.ChoiceField(
        choices=ServiceStatus.choices,
        initial=ServiceStatus.DRAFT,
        help_text="Only live services show on the catalog.",
    )

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError("The logo must be at most 1 MB.")
        return logo


class PlanForm(forms.Form):
    kind = forms.ChoiceField(choices=PlanKind.choices, widget=forms.RadioSelect)
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=200, required=False)
    price = RupeesField(required=False, label="Price (₹)")
    duration_hours = forms.IntegerField(
        required=False, min_value=1, max_value=24 * 366, label="Duration (hours)"
    )
    units = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)
    unit_label = forms.CharField(max_length=30, required=False, initial="calls")
    validity_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Valid for (days)",
        help_text="Leave empty: the credits never expire.",
    )
    metered_rate = RupeesField(required=False, label="Rate (₹)")
    metered_unit = forms.ChoiceField(
        choices=[("", "—"), *MeteredUnit.choices], required=False, label="Billed"
    )

    REQUIRED = {
        PlanKind.TIME: ("price", "duration_hours"),
        PlanKind.USAGE: ("price", "units"),
        PlanKind.METERED: ("metered_rate", "metered_unit"),
    }

    def __init__(self, *args, fixed_kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_kind:  # editing: the kind stays
            self.fields["kind"].initial = fixed_kind
            self.fields["kind"].disabled = True

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        for field in self.REQUIRED.get(kind, ()):
            if data.get(field) in (None, "") and field not in self.errors:
                self.add_error(field, "Required for this kind of plan.")
        return data

    def terms(self) -> PlanTerms:
        data = self.cleaned_data
        kind = data["kind"]
        return PlanTerms(
            kind=kind,
            name=data["name"],
            description=data.get("description", ""),
            price_paise=data.get("price") or 0,
            duration_hours=data.get("duration_hours"),
            units=data.get("units"),
            unit_label=data.get("unit_label") or "",
            validity_days=data.get("validity_days") if kind == PlanKind.USAGE else None,
            metered_rate_paise=data.get("metered_rate"),
            metered_unit=data.get("metered_unit") or "",
        )

    @staticmethod
    def initial_for(plan) -> dict:
        def rupees(paise):
            return f"{paise / 100:.2f}" if paise else ""

        return {
            "kind": plan.kind,
            "name": plan.name,
            "description": plan.description,
            "price": rupees(plan.price_paise),
            "duration_hours": plan.duration_hours if plan.kind == PlanKind.TIME else None,
            "units": plan.units,
            "unit_label": plan.unit_label,
            "validity_days": plan.validity_days,
            "metered_rate": rupees(plan.metered_rate_paise),
            "metered_unit": plan.metered_unit,
        }


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="Endpoint URL",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/flexpass/webhooks"}),
    )
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            raise forms.ValidationError("Webhook URLs must start with http:// or https://.")
        return url


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, required=False)
    mode = forms.ChoiceField(choices=ApiKeyMode.choices, initial=ApiKeyMode.TEST)
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at the start of that day.",
    )

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Pick a day after today.")
        return day

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.min))


class VendorApplicationForm(forms.Form):
    business_name = forms.CharField(max_length=120)
    payout_details = forms.CharField(
        max_length=200,
        label="Payout details",
        help_text="A UPI id (name@bank) or a bank account number and IFSC.",
    )


class EarningsMoveForm(forms.Form):
    """Move earnings to the wallet: an amount in rupees, or everything ("all" button)."""

    amount_paise = RupeesField(label="Amount", required=False)
    everything = forms.BooleanField(required=False)
    idempotency_key = forms.CharField(max_length=255, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not data.get("everything") and not data.get("amount_paise") and not self.errors:
            self.add_error("amount_paise", "Enter an amount, or move all of it.")
        return data

    def amount(self) -> int | None:
        """Paise to move, or None for the whole payable balance."""
        return None if self.cleaned_data.get("everything") else self.cleaned_data["amount_paise"]
