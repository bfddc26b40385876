"""Forms of the blacklist pages: the static lists and their CSV imports."""

from __future__ import annotations

from django import forms

from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry

CSV_HELP = (
    "UTF-8 CSV with the header <code>number,match,memo</code> (the export's format); "
    "<code>match</code> is <code>exact</code> or <code>prefix</code>. Any bad row and nothing "
    "is imported: every bad row is listed with its line number."
)


class BlacklistGroupForm(forms.ModelForm):
    """Create or edit a black/white list group."""

    class Meta:
        model = BlacklistGroup
        fields = ["name", "applies_to_all", "memo"]
        widgets = {"memo": forms.Textarea(attrs={"rows": 2})}


class BlacklistNumberForm(forms.ModelForm):
    """Add a number (or prefix) to a group, or edit one."""

    class Meta:
        model = BlacklistNumber
        fields = ["group", "number", "match", "memo"]


class SystemWhitelistEntryForm(forms.ModelForm):
    """Add a number (or prefix) to the system white list, or edit one."""

    class Meta:
        model = SystemWhitelistEntry
        fields = ["number", "match", "memo"]


class WhitelistImportForm(forms.Form):
    """Upload a CSV file of white-listed numbers."""

    file = forms.FileField(label="CSV file", help_text=CSV_HELP)


class BlacklistNumberImportForm(WhitelistImportForm):
    """Upload a CSV file of numbers into one group."""

    group = forms.ModelChoiceField(queryset=BlacklistGroup.objects.all())
    field_order = ["group", "file"]
