"""Forms of the alarm pages."""

from __future__ import annotations

from django import forms

from vosadmin.alarms.models import AlarmRule, Webhook


class AlarmRuleForm(forms.ModelForm):
    class Meta:
        model = AlarmRule
        fields = AlarmRule.EDITABLE_FIELDS


class WebhookForm(forms.ModelForm):
    # An address typed without its scheme is taken as https (Django 6's default, not 5's http):
    # webhook receivers are reached over the internet.
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")

    class Meta:
        model = Webhook
        fields = ["name", "url", "secret", "enabled", "memo"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}


class AcknowledgeForm(forms.Form):
    memo = forms.CharField(max_length=255, required=False)
