"""WebSocket routes (Channels). Every consumer checks the user's role itself."""

websocket_urlpatterns: list = []
