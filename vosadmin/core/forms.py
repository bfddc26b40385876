"""Form machinery shared by the console pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


def username_length() -> int:
    """The longest user name a user can have (the model's column)."""
    return get_user_model()._meta.get_field("username").max_length


class LoginForm(AuthenticationForm):
    """Django's login form, refusing a user name longer than any user's before authenticating:
    Django only tells the browser the limit, and the lock-out's record of a 300-character
    name failed in the database (a 500)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(MaxLengthValidator(username_length()))


class InUtc:
    """A date-time form field whose value is in UTC: Python takes offsets up to ±23:59 but
    PostgreSQL only up to ±15:59, and such a value, valid as it stands, failed in the database
    (a 500). Mixed in before the date-time field class."""

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)  # type: ignore[misc]
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+05:00 is in year 0 in UTC
            raise forms.ValidationError("Not a time between the years 1 and 9999 in UTC.") from None


class UtcDateTimeField(InUtc, forms.DateTimeField):
    """Django's date-time form field, in UTC (`InUtc`)."""


class ListTextField(forms.CharField):
    """A list typed as text: one item per line, or separated by commas or spaces."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        text = super().to_python(value)
        return [item for item in re.split(r"[\s,;]+", text) if item]


class UserForm(forms.ModelForm):
    """Create or edit a console user: role, state and (on creation, or to change it) a password."""

    role = forms.TypedChoiceField(coerce=int, choices=[])
    password1 = forms.CharField(
        label="Password", required=False, widget=forms.PasswordInput, strip=False
    )
    password2 = forms.CharField(
        label="Password (again)", required=False, widget=forms.PasswordInput, strip=False
    )

    class Meta:
        from django.contrib.auth import get_user_model

        model = get_user_model()
        fields = ["username", "first_name", "last_name", "email", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from vosadmin.core.roles import Role, role_of

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in reversed(Role)]
        current = role_of(self.instance) if self.instance.pk else None
        self.initial.setdefault("role", (current or Role.VIEWER).value)
        if self.instance._state.adding:
            self.fields["password1"].required = True

    def clean(self) -> dict[str, Any]:
        from django.contrib.auth.password_validation import validate_password

        data = super().clean()
        password = data.get("password1")
        if password or data.get("password2"):
            if password != data.get("password2"):
                self.add_error("password2", "The two passwords differ.")
            else:
                try:
                    validate_password(password, self.instance)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        return data

    def save(self, commit: bool = True) -> Any:
        from django.contrib.auth.models import Group

        from vosadmin.core.roles import Role

        user = super().save(commit=False)
        if self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        user.save()
        role = Role(self.cleaned_data["role"])
        user.groups.set([Group.objects.get_or_create(name=role.label)[0]])
        user._vosadmin_role = False  # the role changed: forget the cached one
        return user
