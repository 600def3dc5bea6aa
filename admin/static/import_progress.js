/* The import's progress bar: ask the server how far the run is, once a second, and go to
 * its outcome when it ends. Without scripts the page refreshes itself instead (a
 * <meta http-equiv="refresh"> inside <noscript>). Texts come from the server, already in
 * the page's language, and are put in as text (textContent), never as markup.
 */
(function () {
  "use strict";

  var box = document.getElementById("import-progress");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-url");
  var bar = document.getElementById("import-bar");
  var count = document.getElementById("import-count");
  var INTERVAL = 1000;
  var failures = 0;

  function show(state) {
    var percent = Math.max(0, Math.min(100, state.percent || 0));
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.textContent = percent + "%";
    if (state.label) {
      count.textContent = state.label;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        show(state);
        if (state.next) {
          window.location.assign(state.next);
        } else {
          window.setTimeout(poll, INTERVAL);
        }
      })
      .catch(function () {
        // A lost request (or a 404 after logging out): reload, and let the server decide.
        failures += 1;
        if (failures >= 3) {
          window.location.reload();
        } else {
          window.setTimeout(poll, INTERVAL * 2);
        }
      });
  }

  window.setTimeout(poll, INTERVAL / 4);
})();
