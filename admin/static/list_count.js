/* The list's count when it could cost more than the page (filters, a salesperson's scope):
   the page is served without it and the badge is filled from the list's count URL. Without
   this script the "Show #" link reloads the page with the count. */
(function () {
  "use strict";
  var badge = document.getElementById("list-count");
  var url = badge && badge.getAttribute("data-count-url");
  if (!url) {
    return;
  }
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.ok ? response.json() : { text: "" };
    })
    .then(function (data) {
      if (data.text) {
        badge.textContent = data.text;
      } else {
        badge.parentNode.removeChild(badge);
      }
    })
    .catch(function () {
      badge.parentNode.removeChild(badge);
    });
})();
