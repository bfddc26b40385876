"""WebSocket routes of the alarms app."""

from django.urls import path

from vosadmin.alarms.consumers import AlarmConsumer

websocket_urlpatterns = [path("ws/alarms/", AlarmConsumer.as_asgi())]
