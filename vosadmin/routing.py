"""WebSocket routes (Channels). Every consumer checks the user's role itself."""

from blacklist.routing import websocket_urlpatterns as blacklist_websockets
from vosadmin.alarms.routing import websocket_urlpatterns as alarm_websockets
from vosadmin.core.routing import websocket_urlpatterns as core_websockets

websocket_urlpatterns: list = [*core_websockets, *blacklist_websockets, *alarm_websockets]
