/* Duplicate review: choosing the record to keep selects its values in every differing row
   (where it has one); each row can still be changed by hand. Without this script the page
   works the same, only without the convenience. */
(function () {
  "use strict";
  var form = document.getElementById("merge-form");
  if (!form) {
    return;
  }
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name !== "winner" || !target.checked) {
      return;
    }
    var radios = form.querySelectorAll('input[type="radio"][name^="choice-"]');
    for (var i = 0; i < radios.length; i += 1) {
      var radio = radios[i];
      if (radio.value === target.value && radio.getAttribute("data-empty") !== "1") {
        radio.checked = true;
      }
    }
  });
})();
