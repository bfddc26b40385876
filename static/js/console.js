// vosadmin console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (unregister, release…).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // A search box with data-filter-rows hides non-matching rows as the operator types.
  document.querySelectorAll("[data-filter-rows]").forEach(function (input) {
    var selector = input.getAttribute("data-filter-rows");
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      document.querySelectorAll(selector).forEach(function (row) {
        row.hidden = query !== "" && row.textContent.toLowerCase().indexOf(query) === -1;
      });
    });
  });
})();
