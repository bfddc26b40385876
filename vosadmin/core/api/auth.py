"""`POST /api/v1/auth/token/`: a user's API token for user name + password.

DRF's own view authenticates with its Request wrapper; django-axes marks a locked-out login on
the request it is given, so the underlying Django request must be passed for the lock-out
middleware to see it and answer 429.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from rest_framework import parsers, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from vosadmin.core.api.parsers import JSONParser
from vosadmin.core.first_admin import forget_password_after_login
from vosadmin.core.forms import username_length


class LockoutAwareAuthTokenSerializer(AuthTokenSerializer):
    """AuthTokenSerializer that authenticates against the plain Django request, once the user
    name is one a user could have (the lock-out's record of a longer one fails)."""

    username = serializers.CharField(
        label="Username", write_only=True, max_length=username_length()
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        user = authenticate(
            request=getattr(request, "_request", request),
            username=attrs.get("username"),
            password=attrs.get("password"),
        )
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with the provided credentials.", code="authorization"
            )
        forget_password_after_login(sender=type(self), user=user)
        attrs["user"] = user
        return attrs


class ObtainAuthTokenView(ObtainAuthToken):
    """Exchange user name and password for the user's API token (login lock-out applies)."""

    serializer_class = LockoutAwareAuthTokenSerializer
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, JSONParser)
    extra_error_statuses = ["429"]  # login lock-out (SERVER_LOGIN_MAX_RETRY)
