"""Softswitch console URLs."""

from django.urls import path

from softswitch import views
from vosadmin.core.generic import model_pages

app_name = "softswitch"


urlpatterns = [
    *model_pages(
        "mapping-gateways",
        "mappinggateway",
        views.MappingGatewayListView,
        views.MappingGatewayEditView,
        views.MappingGatewayDeleteView,
    ),
    *model_pages(
        "routing-gateways",
        "routinggateway",
        views.RoutingGatewayListView,
        views.RoutingGatewayEditView,
        views.RoutingGatewayDeleteView,
    ),
    *model_pages(
        "phones", "phone", views.PhoneListView, views.PhoneEditView, views.PhoneDeleteView
    ),
    path("online-phones/", views.RegistrationListView.as_view(), name="registration_list"),
    path(
        "online-phones/<int:pk>/unregister/",
        views.RegistrationDeleteView.as_view(),
        name="registration_delete",
    ),
    path("current-calls/", views.CurrentCallListView.as_view(), name="currentcall_list"),
    path(
        "current-calls/<int:pk>/disconnect/",
        views.CurrentCallDisconnectView.as_view(),
        name="currentcall_disconnect",
    ),
]
