"""WebSocket routes of the blacklist app."""

from django.urls import path

from blacklist.consumers import DynamicBlacklistConsumer

websocket_urlpatterns = [
    path("ws/blacklist/dynamic/", DynamicBlacklistConsumer.as_asgi()),
]
