/* The activity form (联系记录): when the customer changes, its contacts and opportunities
   replace those offered (admin.views.activities.ActivityView.choices). Without scripts the
   form still works: the server offers the customer's own when it is known. */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-url");
  var customer = document.getElementById("customer_id");
  if (!url || !customer || customer.disabled) {
    return;
  }

  function refill(select, items) {
    if (!select) {
      return;
    }
    var kept = select.value;
    while (select.options.length > 1) {
      select.remove(1);
    }
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.id;
      option.textContent = item.name;
      option.selected = item.id === kept;
      select.appendChild(option);
    });
  }

  customer.addEventListener("change", function () {
    var query = "?customer_id=" + encodeURIComponent(customer.value);
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { contacts: [], opportunities: [] };
      })
      .then(function (data) {
        refill(document.getElementById("contact_id"), data.contacts || []);
        refill(document.getElementById("opportunity_id"), data.opportunities || []);
      })
      .catch(function () {});
  });
})();
