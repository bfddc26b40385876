"""Root URLs: console pages, `/api/v1/`, the OpenAPI schema and its offline docs."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from vosadmin.core.api.auth import ObtainAuthTokenView
from vosadmin.core.forms import LoginForm
from vosadmin.core.metrics import metrics_view
from vosadmin.core.views import HomeView

API_MODULES = [
    "vosadmin.core.api.urls",
    "softswitch.api.urls",
    "blacklist.api.urls",
    "billing.api.urls",
    "vosadmin.alarms.api.urls",
    "vosadmin.external.api.urls",
]

LOGIN_VIEW = auth_views.LoginView.as_view(
    authentication_form=LoginForm, redirect_authenticated_user=True
)

api_patterns = [path("", include(module)) for module in API_MODULES] + [
    path("auth/token/", ObtainAuthTokenView.as_view(), name="api-token"),
]

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("login/", LOGIN_VIEW, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("vosadmin.core.urls")),
    path("", include("softswitch.urls")),
    path("", include("blacklist.urls")),
    path("", include("billing.urls")),
    path("", include("vosadmin.alarms.urls")),
    path("", include("vosadmin.external.urls")),
    path("api/v1/", include(api_patterns)),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="core/api_docs.html"
        ),
        name="api-docs",
    ),
]

handler400 = "vosadmin.core.errors.bad_request"
handler403 = "vosadmin.core.errors.permission_denied"
handler404 = "vosadmin.core.errors.page_not_found"
handler500 = "vosadmin.core.errors.server_error"
