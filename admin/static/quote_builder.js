/* The quote builder: rows added and removed in place, and the totals worked out by crmkit
   as the user types. Every change posts the whole form to the builder's price URL (crmkit's
   dry run: nothing is saved) and shows what comes back: each row's amounts, the values a
   product fills in as hints, each wrong field's message under it, and the totals. Without
   this script the form's own buttons (add, remove, work out the totals) do the same by
   reloading the page. Text goes into the page with textContent only. */
(function () {
  "use strict";
  var form = document.getElementById("quote-builder");
  if (!form) {
    return;
  }
  var priceUrl = form.getAttribute("data-price-url");
  var body = document.getElementById("quote-line-rows");
  var template = document.getElementById("quote-line-template");
  var totals = document.getElementById("quote-totals");
  var recalculate = document.getElementById("recalculate");
  var timer = null;
  var asked = 0; // the latest request's number: an older answer arriving late is dropped

  if (recalculate) {
    recalculate.hidden = true; // the totals follow the typing
  }

  function nextKey() {
    var highest = -1;
    body.querySelectorAll("tr.quote-line").forEach(function (row) {
      highest = Math.max(highest, parseInt(row.getAttribute("data-key"), 10) || 0);
    });
    return String(highest + 1);
  }

  function addRow() {
    var key = nextKey();
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.split("__KEY__").join(key);
    var row = holder.querySelector("tr");
    body.appendChild(row);
    return row;
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = text;
    }
  }

  function showErrors(row, errors) {
    row.querySelectorAll(".field-error").forEach(function (el) {
      el.parentNode.removeChild(el);
    });
    row.querySelectorAll("[data-field]").forEach(function (input) {
      var message = errors[input.getAttribute("data-field")];
      input.classList.toggle("is-invalid", Boolean(message));
      if (message) {
        var note = document.createElement("div");
        note.className = "invalid-feedback d-block field-error";
        note.textContent = message;
        input.parentNode.appendChild(note);
      }
    });
  }

  function showLine(line) {
    var row = body.querySelector('tr.quote-line[data-key="' + line.key + '"]');
    if (!row) {
      return; // removed while crmkit was asked
    }
    var amounts = line.amounts || {};
    row.querySelector(".line-gross").textContent = amounts.gross || "";
    row.querySelector(".line-net").textContent = amounts.net || "";
    row.querySelectorAll("input[data-field]").forEach(function (input) {
      var hint = (line.defaults || {})[input.getAttribute("data-field")];
      input.placeholder = hint || "";
    });
    showErrors(row, line.errors || {});
  }

  function show(data) {
    var t = data.totals;
    setText("total-net", t ? t.net : "—");
    setText("total-tax", t ? t.tax : "—");
    setText("total-gross", t ? t.gross : "—");
    setText("total-margin", t ? t.margin : "—");
    setText("total-margin-rate", t && t.margin_rate ? "(" + t.margin_rate + ")" : "");
    setText("totals-uncosted", t ? t.uncosted : "");
    setText("totals-note", data.note || "");
    totals.classList.toggle("partial", Boolean(data.partial));
    var general = document.getElementById("lines-errors");
    general.textContent = "";
    (data.general || []).forEach(function (message) {
      var note = document.createElement("div");
      note.className = "alert alert-danger py-1 small";
      note.textContent = message;
      general.appendChild(note);
    });
    (data.lines || []).forEach(showLine);
  }

  function ask() {
    var mine = ++asked;
    totals.classList.add("stale");
    fetch(priceUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (mine !== asked) {
          return;
        }
        totals.classList.remove("stale");
        if (data) {
          show(data);
        }
      })
      .catch(function () {
        if (mine === asked) {
          totals.classList.remove("stale");
        }
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250);
  }

  // Only the chosen customer's opportunities are offered once there is a customer.
  var customer = document.querySelector("select#customer_id");
  var opportunity = document.getElementById("opportunity_id");
  function offerOpportunities() {
    if (!customer || !opportunity) {
      return;
    }
    Array.prototype.forEach.call(opportunity.options, function (option) {
      var of = option.getAttribute("data-customer");
      option.hidden = Boolean(of && customer.value && of !== customer.value);
      if (option.hidden && option.selected) {
        opportunity.value = "";
      }
    });
  }
  if (customer) {
    customer.addEventListener("change", offerOpportunities);
    offerOpportunities();
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (!button) {
      return;
    }
    if (button.id === "add-line") {
      event.preventDefault();
      var row = addRow();
      row.querySelector("select").focus();
    } else if (button.classList.contains("remove-line")) {
      event.preventDefault();
      var gone = button.closest("tr");
      gone.parentNode.removeChild(gone);
      if (!body.querySelector("tr.quote-line")) {
        addRow();
      }
      later();
    }
  });
  form.addEventListener("input", function (event) {
    if (event.target.id !== "remarks") {
      later();
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT" || event.target.type === "checkbox") {
      later();
    }
  });
})();
