/* Asks before a form marked data-confirm is sent: every delete button carries its question,
   naming the record ("确定将“青岛金智电子科技有限公司”移到回收站吗？"), so the wrong row is not
   binned by a slip. Loaded on every page; one listener catches every form. */
(function () {
  "use strict";
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
