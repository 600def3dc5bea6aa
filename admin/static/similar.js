/* Live similar-customer warnings on the customer create and edit forms.
 *
 * While the user types a name, phone, email or credit code, ask the server which customers
 * look alike (at most five, with their salesperson) and list them under the form. Every
 * value is put in the page as text (textContent), never as markup.
 */
(function () {
  "use strict";

  var panel = document.getElementById("similar-panel");
  if (!panel) {
    return;
  }
  var rows = document.getElementById("similar-rows");
  var url = panel.getAttribute("data-url");
  var exclude = panel.getAttribute("data-exclude") || "";
  var WATCHED = ["name", "mobile", "phone", "email", "uscc"];
  var SENT = WATCHED.concat(["kind"]);
  var DELAY = 300;
  var timer = null;
  var latest = 0;

  function value(id) {
    var field = document.getElementById(id);
    return field && typeof field.value === "string" ? field.value.trim() : "";
  }

  function query() {
    var params = new URLSearchParams();
    var any = false;
    SENT.forEach(function (id) {
      var v = value(id);
      if (v) {
        params.set(id, v);
        any = any || id !== "kind";
      }
    });
    if (value("name").length === 1 && WATCHED.every(function (id) {
      return id === "name" || !value(id);
    })) {
      any = false; // one character matches half the store
    }
    if (exclude) {
      params.set("exclude", exclude);
    }
    return any ? params : null;
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function show(matches) {
    while (rows.firstChild) {
      rows.removeChild(rows.firstChild);
    }
    matches.forEach(function (m) {
      var tr = document.createElement("tr");
      tr.className = "similar-match";
      var name = document.createElement("td");
      if (m.url) {
        var link = document.createElement("a");
        link.href = m.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = m.name;
        name.appendChild(link);
      } else {
        name.textContent = m.name;
      }
      name.className = "similar-name";
      tr.appendChild(name);
      var owner = cell(m.owner || "—");
      owner.className = "similar-owner";
      tr.appendChild(owner);
      tr.appendChild(cell(m.score_text || Math.round(Number(m.score) * 100) + "%"));
      tr.appendChild(cell((m.reasons || []).join("；")));
      rows.appendChild(tr);
    });
    panel.hidden = matches.length === 0;
  }

  function check() {
    var params = query();
    var ticket = ++latest;
    if (!params) {
      show([]);
      return;
    }
    fetch(url + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          return { matches: [] }; // logged out or failed: the save still checks
        }
        return response.json();
      })
      .then(function (data) {
        if (ticket === latest) {
          show(Array.isArray(data.matches) ? data.matches : []);
        }
      })
      .catch(function () {
        /* a hint only: nothing to report */
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, DELAY);
  }

  WATCHED.forEach(function (id) {
    var field = document.getElementById(id);
    if (field) {
      field.addEventListener("input", later);
    }
  });
  var kind = document.getElementById("kind");
  if (kind) {
    kind.addEventListener("change", later);
  }
  if (query()) {
    check(); // a form shown again after a failed save, or an edit form
  }
})();
