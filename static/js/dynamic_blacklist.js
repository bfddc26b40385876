// Dynamic black list page: rows appear and disappear live, and "time left" counts down.
//
// The server pushes `added` / `removed` events over a WebSocket (blacklist/consumers.py). On an
// event the page fetches itself again and swaps the table in, so filters, sorting, pagination
// and the columns stay exactly what the server renders; a burst of events makes one fetch.
(function () {
  "use strict";

  var socketPath = document.currentScript.getAttribute("data-socket");
  var refreshTimer = null;
  var addedIds = [];
  var live = null;

  function formatTimeLeft(seconds) {
    // Same wording as blacklist/tables.py: time_left().
    if (seconds <= 0) return "expired";
    var total = Math.floor(seconds);
    var days = Math.floor(total / 86400);
    var hours = Math.floor(total % 86400 / 3600);
    var minutes = Math.floor(total % 3600 / 60);
    var secs = total % 60;
    var pad = function (n) { return n < 10 ? "0" + n : String(n); };
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + pad(minutes) + " min";
    return minutes ? minutes + " min " + pad(secs) + " s" : secs + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".time-left[data-expires]").forEach(function (cell) {
      cell.textContent = formatTimeLeft((Number(cell.getAttribute("data-expires")) - now) / 1000);
    });
  }

  function highlight(ids) {
    ids.forEach(function (id) {
      var row = document.querySelector('tr[data-id="' + id + '"]');
      if (row) row.classList.add("just-added");
    });
  }

  function refresh() {
    refreshTimer = null;
    var added = addedIds;
    addedIds = [];
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
          highlight(added);
          tick();
        }
      })
      .catch(function () { live.failed(); });
  }

  function scheduleRefresh() {
    if (!refreshTimer) refreshTimer = window.setTimeout(refresh, 250);
  }

  function onMessage(data) {
    if (data.event === "added") {
      data.entries.forEach(function (entry) { addedIds.push(entry.id); });
    }
    scheduleRefresh();
  }

  // After a reconnection the table is fetched again: events may have been missed while away.
  live = window.liveSocket(socketPath, onMessage, scheduleRefresh);
  window.setInterval(tick, 1000);
})();
