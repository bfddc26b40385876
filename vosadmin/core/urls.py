"""Core console URLs: home, parameters, users, operation log."""

from django.urls import path

from vosadmin.core import views
from vosadmin.core.generic import model_pages

app_name = "core"

urlpatterns = [
    path("parameters/", views.ParameterListView.as_view(), name="parameter_list"),
    *model_pages("users", "user", views.UserListView, views.UserEditView, views.UserDeleteView),
    path("users/<int:pk>/token/", views.UserTokenView.as_view(), name="user_token"),
    path("operation-log/", views.AuditLogListView.as_view(), name="auditlog_list"),
]
