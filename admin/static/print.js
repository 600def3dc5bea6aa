/* The print view's button: the browser's print dialog (which also saves a PDF). */
(function () {
  "use strict";
  var button = document.getElementById("print-now");
  if (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  }
})();
