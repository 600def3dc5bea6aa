/* The SFA plan editor (admin.views.sfa.SfaPlanView.editor): 添加步骤 and ✕ add and remove step
   rows in place; each row offers the templates of its action's channel and only the cells
   its action and timing use; the plan's cycle and rounds show for the kinds that have them.
   Without this script the same buttons post the form and it comes back with the rows
   changed (nothing is saved until 保存), every cell shown; crmkit checks every step either
   way. */
(function () {
  "use strict";
  var form = document.getElementById("sfa-plan-form");
  if (!form) {
    return;
  }
  var body = document.getElementById("step-rows");
  var template = document.getElementById("step-row-template");
  var addButton = document.getElementById("add-step");
  var kind = document.getElementById("plan-kind");
  var most = parseInt(form.getAttribute("data-max-steps"), 10) || 50;
  var numberText = "";
  (function () {
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML;
    var cell = holder.querySelector(".step-number");
    numberText = cell ? cell.textContent : "__NUMBER__";
  })();

  function rows() {
    return Array.prototype.slice.call(body.querySelectorAll("tr.step-row"));
  }

  function shown(element, visible) {
    if (element) {
      element.style.visibility = visible ? "" : "hidden";
    }
  }

  function fit(row) {
    var action = row.querySelector(".step-action").value;
    var unit = row.querySelector(".step-unit").value;
    var select = row.querySelector(".step-template");
    var messages = action === "sms" || action === "email";
    Array.prototype.forEach.call(select.options, function (option) {
      var channel = option.getAttribute("data-channel");
      var fits = !channel || channel === action;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) {
        select.value = "";
      }
    });
    shown(select, messages);
    shown(row.querySelector(".step-title"), action === "task");
    shown(row.querySelector(".step-on"), unit === "date");
  }

  function renumber() {
    rows().forEach(function (row, index) {
      row.setAttribute("data-index", String(index));
      row.querySelector(".step-number").textContent = numberText.split("__NUMBER__").join(String(index + 1));
      row.querySelector(".step-remove").value = String(index);
    });
    addButton.disabled = rows().length >= most;
  }

  function addRow() {
    var count = rows().length;
    if (count >= most) {
      return null;
    }
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML
      .split("__INDEX__")
      .join(String(count))
      .split("__NUMBER__")
      .join(String(count + 1));
    var row = holder.querySelector("tr");
    body.appendChild(row);
    fit(row);
    renumber();
    return row;
  }

  function fitKind() {
    var value = kind.value;
    var cycle = form.querySelector(".plan-cycle");
    var rounds = form.querySelector(".plan-rounds");
    shown(cycle, value === "cyclic");
    shown(rounds, value === "cyclic" || value === "timed");
  }

  addButton.addEventListener("click", function (event) {
    event.preventDefault();
    var row = addRow();
    if (row) {
      row.querySelector(".step-action").focus();
    }
  });

  body.addEventListener("click", function (event) {
    var button = event.target.closest(".step-remove");
    if (!button) {
      return;
    }
    event.preventDefault();
    button.closest("tr").remove();
    renumber();
  });

  body.addEventListener("change", function (event) {
    var row = event.target.closest("tr.step-row");
    if (row && (event.target.matches(".step-action") || event.target.matches(".step-unit"))) {
      fit(row);
    }
  });

  kind.addEventListener("change", fitKind);
  rows().forEach(fit);
  fitKind();
  renumber();
})();
