// The console's live pages share this: a WebSocket to the server's stream (a Channels group),
// its state shown in #live-status, and reconnection with a growing pause (1 s to 30 s).
// `liveSocket(path, onMessage, onReconnect)`: onMessage(data) for each JSON message,
// onReconnect() after a reconnection (messages may have been missed meanwhile).
(function () {
  "use strict";

  window.liveSocket = function (path, onMessage, onReconnect) {
    var status = document.getElementById("live-status");
    var retryDelay = 1000;
    var connectedBefore = false;

    function setStatus(state, text) {
      status.setAttribute("data-state", state);
      status.textContent = text;
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + path);
      socket.onopen = function () {
        setStatus("live", "live");
        retryDelay = 1000;
        if (connectedBefore && onReconnect) onReconnect();
        connectedBefore = true;
      };
      socket.onmessage = function (message) { onMessage(JSON.parse(message.data)); };
      socket.onclose = function () {
        setStatus("offline", "reconnecting…");
        window.setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      };
    }

    connect();
    return { failed: function () { setStatus("offline", "update failed"); } };
  };
})();
