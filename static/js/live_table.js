// A list page whose table follows the server live (the Current alarms page).
//
// The server pushes "changed" over a WebSocket (data-socket); the page fetches itself again and
// swaps its table in, so filters, sorting and pagination stay what the server renders; a burst
// of events makes one fetch. After a reconnect the table is fetched too (events were missed).
(function () {
  "use strict";

  var socketPath = document.currentScript.getAttribute("data-socket");
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
        if (fresh && area) area.innerHTML = fresh.innerHTML;
      })
      .catch(function () { live.failed(); });
  }

  function scheduleRefresh() {
    if (!refreshTimer) refreshTimer = window.setTimeout(refresh, 250);
  }

  live = window.liveSocket(socketPath, scheduleRefresh, scheduleRefresh);
})();
