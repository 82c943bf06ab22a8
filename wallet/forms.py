"""Forms for the wallet pages: they parse and check input; services move the money."""

import uuid

from django import forms
from django.core.exceptions import ValidationError

from flexpass.errors import DomainError
from flexpass.money import format_rupees, parse_rupees
from wallet import selectors
from wallet.models import EntryKind
from wallet.services import MAX_AMOUNT_PAISE

NOTE_MAX_LENGTH = 140


class RupeesField(forms.Field):
    """Rupees as people type them ("1,250" or "99.50") -> whole paise (int)."""

    widget = forms.TextInput
    max_length = 24

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update(
            {
                "inputmode": "decimal",
                "autocomplete": "off",
                "placeholder": "0.00",
                "maxlength": str(self.max_length),
            }
        )
        return attrs

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        if len(text) > self.max_length:
            raise ValidationError("That amount is too long.", code="max_length")
        try:
            paise = parse_rupees(text)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc
        if paise <= 0:
            raise ValidationError("Enter an amount more than zero.", code="min_value")
        if paise > MAX_AMOUNT_PAISE:
            raise ValidationError(
                f"The most you can send at once is {format_rupees(MAX_AMOUNT_PAISE)}.",
                code="max_value",
            )
        return paise


class StatementFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type", required=False, choices=[("", "All types"), *EntryKind.choices]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("The start date is after the end date.")
        return data

    def filters(self) -> dict:
        """The valid filters only: one bad date never hides the whole statement."""
        self.is_valid()
        data = dict(self.cleaned_data)
        if self.non_field_errors():
            data.pop("date_from", None)
            data.pop("date_to", None)
        return {
            "kind": data.get("kind") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class RecipientMixin:
    """Resolves `to` ("@handle" or an email) into `self.recipient` for `self.sender`."""

    sender = None
    recipient = None

    def clean_to(self):
        query = self.cleaned_data["to"].strip()
        try:
            self.recipient = selectors.recipient_access(query=query, sender=self.sender)
        except DomainError as exc:
            raise ValidationError(str(exc), code="recipient") from exc
        return query


class SendForm(RecipientMixin, forms.Form):
    """Step 1: who and how much."""

    to = forms.CharField(
        label="Send to",
        max_length=254,
        help_text="Their FlexPass @handle or email address.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "@handle or name@example.com",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
    amount_rupees = RupeesField(label="Amount (₹)")
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "What's it for? (optional)"}),
    )

    def __init__(self, *args, sender, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.sender = sender


class ConfirmForm(RecipientMixin, forms.Form):
    """Step 2: the confirmed transfer. The key was fixed when the confirm page was drawn."""

    to = forms.CharField(max_length=254, widget=forms.HiddenInput)
    amount_paise = forms.IntegerField(
        min_value=1, max_value=MAX_AMOUNT_PAISE, widget=forms.HiddenInput
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, sender, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = sender

    @classmethod
    def for_review(cls, send_form: SendForm) -> "ConfirmForm":
        data = send_form.cleaned_data
        return cls(
            initial={
                "to": data["to"],
                "amount_paise": data["amount_rupees"],
                "note": data["note"],
                "idempotency_key": uuid.uuid4(),
            },
            sender=send_form.sender,
        )
