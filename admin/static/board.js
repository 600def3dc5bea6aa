/* The pipeline board: drag a card onto another column to move it there. The drop fills in
   the card's own stage select and sends its form, the same POST the button sends, so the
   board works the same without this script (select a stage, press 移动). */
(function () {
  "use strict";
  var board = document.getElementById("pipeline-board");
  if (!board) {
    return;
  }
  var dragged = null;
  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".pipeline-card");
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
  });
  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    board.querySelectorAll(".drop-target").forEach(function (col) {
      col.classList.remove("drop-target");
    });
  });
  function column(event) {
    return event.target.closest ? event.target.closest(".pipeline-column") : null;
  }
  board.addEventListener("dragover", function (event) {
    var col = column(event);
    if (dragged && col) {
      event.preventDefault();
      col.classList.add("drop-target");
    }
  });
  board.addEventListener("dragleave", function (event) {
    var col = column(event);
    if (col && !col.contains(event.relatedTarget)) {
      col.classList.remove("drop-target");
    }
  });
  board.addEventListener("drop", function (event) {
    var col = column(event);
    if (!dragged || !col) {
      return;
    }
    event.preventDefault();
    var form = dragged.querySelector(".move-form");
    var select = form && form.querySelector(".move-stage");
    var stage = col.getAttribute("data-stage");
    if (!select || select.value === stage) {
      return;
    }
    select.value = stage;
    form.submit();
  });
})();
