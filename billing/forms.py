"""Forms of the account management pages: rate groups, rates, accounts, payments, the rates
CSV import and the "test a number" box."""

from __future__ import annotations

from typing import Any

from django import forms

from billing.models import MONEY_DIGITS, MONEY_PLACES, RATE_TERMS, Account, Rate, RateGroup
from vosadmin.core.forms import UtcDateTimeField

RATES_CSV_HELP = (
    "UTF-8 CSV with the export's header row: <code>prefix,area_name,first_period,first_fee,"
    "period,fee,effective_from,effective_to,memo</code> (<code>prefix</code>, "
    "<code>period</code> and <code>fee</code> required; times ISO 8601, empty "
    "<code>effective_from</code> = now). Any bad row and nothing is imported: the bad rows are "
    "listed with their line numbers."
)


class RateGroupForm(forms.ModelForm):
    """Create or edit a rate group."""

    class Meta:
        model = RateGroup
        fields = ["name", "memo"]


class RateForm(forms.ModelForm):
    """Add a rate to a group, or edit one."""

    class Meta:
        model = Rate
        fields = ["rate_group", *RATE_TERMS, "memo"]
        field_classes = {"effective_from": UtcDateTimeField, "effective_to": UtcDateTimeField}


class AccountForm(forms.ModelForm):
    """Create or edit an account. The balance is not here: it changes only by payments; the
    account code is fixed once created."""

    class Meta:
        model = Account
        fields = ["account", "name", "type", "credit_limit", "rate_group", "locked", "memo"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["account"].disabled = True


class PaymentForm(forms.Form):
    """A payment (positive) or deduction (negative) for one account."""

    amount = forms.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        help_text="Positive adds to the balance; negative deducts.",
    )
    memo = forms.CharField(max_length=255, required=False)

    def clean_amount(self) -> Any:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be zero.")
        return amount


class RateImportForm(forms.Form):
    """Upload a CSV file of rates into one group."""

    rate_group = forms.ModelChoiceField(queryset=RateGroup.objects.all())
    file = forms.FileField(label="CSV file", help_text=RATES_CSV_HELP)


class TestNumberForm(forms.Form):
    """Which rate applies to a number now, and what a call of so many seconds costs."""

    number = forms.RegexField(regex=r"^[0-9]{1,32}$", label="Number (callee)")
    seconds = forms.DecimalField(
        min_value=0, max_value=10**7, decimal_places=3, initial=60, label="Call of (seconds)"
    )
