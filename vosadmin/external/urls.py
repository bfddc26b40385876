"""Web API URLs: the endpoint, its test page, and Web access control."""

from django.urls import path

from vosadmin.core.generic import model_pages
from vosadmin.external import views

app_name = "external"

urlpatterns = [
    path("external/server/<str:name>", views.ServerView.as_view(), name="server"),
    path("external/test/server", views.TestServerView.as_view(), name="test_server"),
    *model_pages(
        "web-access-control",
        "webaccessrule",
        views.WebAccessRuleListView,
        views.WebAccessRuleEditView,
        views.WebAccessRuleDeleteView,
    ),
]
