"""Page forms: parse rupees into paise and reuse the services' own checks."""

from django import forms

from billing import bank_details, services
from flexpass.errors import DomainError
from flexpass.money import parse_rupees


def _paise(text: str, check) -> int:
    try:
        amount_paise = parse_rupees(text)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    try:
        return check(amount_paise)
    except DomainError as exc:
        raise forms.ValidationError(str(exc)) from exc


class TopUpForm(forms.Form):
    amount_rupees = forms.CharField(
        label="Amount",
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "500"}
        ),
    )

    def clean_amount_rupees(self) -> int:
        return _paise(self.cleaned_data["amount_rupees"], services.topup_check_amount)


class WithdrawForm(forms.Form):
    label_suffix = ""
    amount_rupees = forms.CharField(
        label="Amount",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    account_holder = forms.CharField(
        label="Account holder's name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    account_number = forms.CharField(
        label="Account number",
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    ifsc = forms.CharField(
        label="IFSC",
        max_length=11,
        widget=forms.TextInput(
            attrs={"placeholder": "HDFC0001234", "style": "text-transform:uppercase"}
        ),
    )

    def clean_amount_rupees(self) -> int:
        return _paise(self.cleaned_data["amount_rupees"], services.withdrawal_check_amount)

    def _domain(self, check, name):
        try:
            return check(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_account_holder(self) -> str:
        return self._domain(bank_details.clean_account_holder, "account_holder")

    def clean_account_number(self) -> str:
        return self._domain(bank_details.clean_account_number, "account_number")

    def clean_ifsc(self) -> str:
        return self._domain(bank_details.clean_ifsc, "ifsc")
