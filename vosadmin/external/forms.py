"""Forms of the Web access control page."""

from __future__ import annotations

from django import forms

from vosadmin.core.forms import ListTextField
from vosadmin.external.models import WebAccessRule


class WebAccessRuleForm(forms.ModelForm):
    """Create or edit a Web access rule."""

    allowed = ListTextField(
        label="Allowed addresses",
        help_text="IP addresses or CIDR networks, one per line or separated by commas.",
    )

    class Meta:
        model = WebAccessRule
        fields = ["path", "allowed", "memo"]
