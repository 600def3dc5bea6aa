/* The payment plan form on an order's page: 添加一行 adds an empty instalment in place and
   一次付清 leaves one instalment of 100% on the first date typed. Without this script the
   same buttons post the form and the page comes back changed (nothing is written either
   way); only 生成回款计划 makes the plan, and crmkit checks every row. */
(function () {
  "use strict";
  var form = document.getElementById("payment-plan-form");
  if (!form) {
    return;
  }
  var body = document.getElementById("plan-rows");
  var template = document.getElementById("plan-row-template");
  var addButton = document.getElementById("plan-add-row");
  var onceButton = document.getElementById("plan-pay-once");
  var most = parseInt(form.getAttribute("data-max-rows"), 10) || 60;

  function rows() {
    return Array.prototype.slice.call(body.querySelectorAll("tr.plan-row"));
  }

  function field(row, name) {
    return row.querySelector('input[name="' + name + '"]');
  }

  function clearErrors(row) {
    row.querySelectorAll(".field-error").forEach(function (el) {
      el.parentNode.removeChild(el);
    });
    row.querySelectorAll(".is-invalid").forEach(function (el) {
      el.classList.remove("is-invalid");
    });
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
    addButton.disabled = count + 1 >= most;
    return row;
  }

  addButton.addEventListener("click", function (event) {
    event.preventDefault();
    var row = addRow();
    if (row) {
      field(row, "due").focus();
    }
  });

  onceButton.addEventListener("click", function (event) {
    event.preventDefault();
    var all = rows();
    if (!all.length) {
      all = [addRow()];
    }
    var due = "";
    all.forEach(function (row) {
      due = due || field(row, "due").value.trim();
    });
    all.forEach(function (row, index) {
      clearErrors(row);
      field(row, "due").value = index === 0 ? due : "";
      field(row, "amount").value = index === 0 ? "100%" : "";
    });
    var errors = document.getElementById("payment-plan-errors");
    if (errors) {
      errors.textContent = "";
    }
    var first = field(all[0], "due");
    first.focus();
    if (first.value) {
      first.select();
    }
  });
})();
