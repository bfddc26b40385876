// A list page whose table follows the server live (Current alarms, Dynamic black list).
//
// The server pushes events over a WebSocket; the page fetches itself again and swaps its table
// in, so filters, sorting and pagination stay what the server renders; a burst of events makes
// one fetch. After a reconnect the table is fetched too (events were missed).
//
// <script src="live_table.js" data-socket="/ws/…"> runs it as it is; a page that does more
// loads it without data-socket and calls window.liveTable(socketPath, {message, swapped}):
// `message(data)` sees each event, `swapped()` runs after each new table is in.
(function () {
  "use strict";

  window.liveTable = function (socketPath, hooks) {
    hooks = hooks || {};
    var refreshTimer = null;
    var live = null;

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
          if (fresh && area) {
            area.innerHTML = fresh.innerHTML;
            if (hooks.swapped) hooks.swapped();
          }
        })
        .catch(function () { live.failed(); });
    }

    function scheduleRefresh() {
      if (!refreshTimer) refreshTimer = window.setTimeout(refresh, 250);
    }

    function onMessage(data) {
      if (hooks.message) hooks.message(data);
      scheduleRefresh();
    }

    live = window.liveSocket(socketPath, onMessage, scheduleRefresh);
  };

  var socketPath = document.currentScript.getAttribute("data-socket");
  if (socketPath) window.liveTable(socketPath);
})();
