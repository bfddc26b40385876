"""WebSocket routes (Channels). Every consumer checks the user's role itself."""

from blacklist.routing import websocket_urlpatterns as blacklist_websockets

websocket_urlpatterns: list = [*blacklist_websockets]
