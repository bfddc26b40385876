// Dynamic black list page: rows appear and disappear live, and "time left" counts down.
//
// The server pushes `added` / `removed` events over a WebSocket (blacklist/consumers.py) and
// live_table.js swaps the table in; this script highlights the rows just added.
(function () {
  "use strict";

  var socketPath = document.currentScript.getAttribute("data-socket");
  var addedIds = [];

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

  function highlightAdded() {
    addedIds.forEach(function (id) {
      var row = document.querySelector('tr[data-id="' + id + '"]');
      if (row) row.classList.add("just-added");
    });
    addedIds = [];
    tick();
  }

  function noteAdded(data) {
    if (data.event === "added") {
      data.entries.forEach(function (entry) { addedIds.push(entry.id); });
    }
  }

  window.liveTable(socketPath, { message: noteAdded, swapped: highlightAdded });
  window.setInterval(tick, 1000);
})();
