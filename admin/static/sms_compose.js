/* 发送短信: the preview follows the form as it is typed. crmkit renders it (the signature,
   the opt-out line of a marketing message, the characters and billed segments) through
   POST /sms/preview (admin.views.messaging.SmsCentreView.preview); its refusals (an unknown
   variable, too long) show in the preview. Without this script the 预览 button asks the
   same of the server. */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-url");
  var hint = (script && script.getAttribute("data-hint")) || "";
  var form = document.getElementById("sms-form");
  var text = document.getElementById("sms-preview-text");
  var summary = document.getElementById("sms-preview-summary");
  var marketing = document.getElementById("sms-preview-marketing");
  if (!url || !form || !text || !window.fetch || !window.FormData) {
    return;
  }
  var timer = null;
  var asked = 0;

  function show(data) {
    text.textContent = "";
    summary.textContent = "";
    marketing.textContent = "";
    text.classList.remove("text-danger");
    if (data.empty) {
      var muted = document.createElement("span");
      muted.className = "text-muted";
      muted.textContent = hint;
      text.appendChild(muted);
      return;
    }
    if (data.errors) {
      text.classList.add("text-danger");
      Object.keys(data.errors).forEach(function (field) {
        data.errors[field].forEach(function (message) {
          var line = document.createElement("div");
          line.className = "sms-preview-error";
          line.textContent = message;
          text.appendChild(line);
        });
      });
      return;
    }
    text.textContent = data.text;
    summary.textContent = data.summary;
    summary.setAttribute("data-segments", String(data.segments));
    marketing.textContent = data.marketing || "";
  }

  function ask() {
    var mine = ++asked;
    var body = new FormData(form);
    body.delete("action");
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data && mine === asked) {
          show(data);
        }
      })
      .catch(function () {});
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250);
  }

  ["sms-customer_id", "sms-template", "sms-text", "sms-marketing", "sms-to"].forEach(function (id) {
    var field = document.getElementById(id);
    if (field) {
      field.addEventListener("input", later);
      field.addEventListener("change", later);
    }
  });
  var text0 = document.getElementById("sms-text");
  if ((text0 && text0.value) || document.getElementById("sms-template").value) {
    ask();
  }
})();
