/* The customer form's 地区 as three selects, 省 → 市 → 区县, each filled from crmkit's
 * GB/T 2260 table when the one above it is chosen (JSON from the URL in this script tag's
 * data-url; the browser caches it).
 *
 * The chosen path (山东省/青岛市/市南区; a municipality's 北京市/东城区) is written into the
 * existing text input, which stays the field the form sends: crmkit parses it as it parses
 * typed text, and without this script people still type the region. A value already in the
 * input chooses the three levels; one the selects cannot show (typed free text) leaves the
 * input in view, untouched until a select is changed. Names go in as text, never markup.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var input = document.getElementById("region");
  if (!script || !input || input.tagName !== "INPUT" || !window.fetch) {
    return;
  }
  var url = script.getAttribute("data-url");
  var LEVELS = ["province", "city", "district"];
  var answers = {};
  var selects = LEVELS.map(function (level) {
    var select = document.createElement("select");
    select.id = "region-" + level;
    select.className = "form-control" + (level === "district" ? "" : " mr-2");
    select.setAttribute("aria-label", script.getAttribute("data-" + level) || level);
    select.disabled = true;
    return select;
  });
  var province = selects[0];
  var city = selects[1];
  var district = selects[2];
  var latest = [0, 0, 0]; // choices per level: an answer for an older one is dropped

  function children(code) {
    var key = code || "";
    if (!answers[key]) {
      var query = code ? "?code=" + encodeURIComponent(code) : "";
      answers[key] = fetch(url + query, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .catch(function () {
          delete answers[key]; // try again on the next choice
          return [];
        });
    }
    return answers[key];
  }

  function fill(select, items) {
    while (select.firstChild) {
      select.removeChild(select.firstChild);
    }
    var blank = document.createElement("option");
    blank.value = "";
    blank.textContent = "— " + select.getAttribute("aria-label") + " —";
    select.appendChild(blank);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.code;
      option.textContent = item.name;
      select.appendChild(option);
    });
    select.disabled = items.length === 0;
  }

  function isCountyLevel(item) {
    return item.code.slice(-2) !== "00";
  }

  /* Empty the levels below the select at ``index``, then fill the next one for its chosen
     code; resolves true once filled, or null if a newer choice at or above it came first. */
  function below(index) {
    for (var level = index; level < latest.length; level += 1) {
      latest[level] += 1;
    }
    var mine = latest[index];
    var code = selects[index].value;
    selects.slice(index + 1).forEach(function (s) {
      fill(s, []);
    });
    if (!code) {
      return Promise.resolve(true);
    }
    return children(code).then(function (items) {
      if (mine !== latest[index]) {
        return null;
      }
      if (index === 0 && items.length && items.every(isCountyLevel)) {
        fill(district, items); // 北京市, 香港: districts straight under the province
      } else {
        fill(selects[index + 1], items);
      }
      return true;
    });
  }

  function chosenName(select) {
    var option = select.options[select.selectedIndex];
    return !select.disabled && option && option.value ? option.textContent : "";
  }

  /* Hide the text input: the selects show (and write) its value. */
  function takeOver() {
    input.hidden = true;
    var label = document.querySelector("label[for='region']");
    if (label) {
      label.htmlFor = province.id;
    }
  }

  function write() {
    input.value = selects.map(chosenName).filter(Boolean).join("/");
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function choose(select, name) {
    for (var i = 0; i < select.options.length; i += 1) {
      if (select.options[i].value && select.options[i].textContent === name) {
        select.selectedIndex = i;
        return true;
      }
    }
    return false;
  }

  /* Choose the levels ``parts`` name; true when every part found its option. */
  function preselect(parts) {
    if (!parts.length) {
      return Promise.resolve(true);
    }
    if (!choose(province, parts[0])) {
      return Promise.resolve(false);
    }
    return below(0).then(function (done) {
      if (!done || parts.length === 1) {
        return Boolean(done);
      }
      if (city.disabled) {
        return parts.length === 2 && choose(district, parts[1]);
      }
      if (!choose(city, parts[1])) {
        return false;
      }
      return below(1).then(function (ready) {
        if (!ready || parts.length === 2) {
          return Boolean(ready);
        }
        return parts.length === 3 && choose(district, parts[2]);
      });
    });
  }

  selects.forEach(function (select, index) {
    select.addEventListener("change", function () {
      if (index < 2) {
        below(index); // empties the levels below at once, fills the next one when it can
      }
      write();
      takeOver(); // the selects now say what is sent
    });
  });

  var picker = document.createElement("div");
  picker.className = "region-picker d-flex mb-1";
  picker.id = "region-picker";
  selects.forEach(function (select) {
    picker.appendChild(select);
  });
  input.parentNode.insertBefore(picker, input);
  if (input.getAttribute("aria-required")) {
    province.setAttribute("aria-required", "true");
  }

  var value = input.value.trim();
  var parts = value
    ? value.split("/").map(function (part) {
        return part.trim();
      })
    : [];
  children(null)
    .then(function (items) {
      fill(province, items);
      fill(city, []);
      fill(district, []);
      return items.length ? preselect(parts) : false;
    })
    .then(function (shown) {
      if (shown) {
        takeOver();
      }
    });
})();
