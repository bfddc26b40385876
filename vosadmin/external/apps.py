from django.apps import AppConfig


class ExternalConfig(AppConfig):
    """The VOS3000-compatible Web API (`/external/server/<Name>`) and Web access control."""

    name = "vosadmin.external"
    label = "external"
    verbose_name = "VOS3000 Web API"
