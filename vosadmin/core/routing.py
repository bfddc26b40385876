"""WebSocket routes of the core app."""

from django.urls import path

from vosadmin.core.consumers import OverviewConsumer

websocket_urlpatterns = [path("ws/overview/", OverviewConsumer.as_asgi())]
