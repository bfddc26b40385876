// A list page whose table follows the server live (the Current alarms page).
//
// The server pushes "changed" over a WebSocket (data-socket); the page fetches itself again and
// swaps its table in, so filters, sorting and pagination stay what the server renders; a burst
// of events makes one fetch. After a reconnect the table is fetched too (events were missed).
(function () {
  "use strict";

  var socketPath = document.currentScript.getAttribute("data-socket");
  var status = document.getElementById("live-status");
  var refreshTimer = null;
  var retryDelay = 1000;
  var connectedBefore = false;

  function setStatus(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function refresh() {
    refreshTimer = null;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".table-area");
        var area = document.querySelector(".table-area");
        if (fresh && area) area.innerHTML = fresh.innerHTML;
      })
      .catch(function () { setStatus("offline", "update failed"); });
  }

  function scheduleRefresh() {
    if (!refreshTimer) refreshTimer = window.setTimeout(refresh, 250);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + socketPath);
    socket.onopen = function () {
      setStatus("live", "live");
      retryDelay = 1000;
      if (connectedBefore) scheduleRefresh();
      connectedBefore = true;
    };
    socket.onmessage = scheduleRefresh;
    socket.onclose = function () {
      setStatus("offline", "reconnecting…");
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  connect();
})();
