/* The round sheets' print button (the page prints as it is: A4, one round a page). */
(function () {
  "use strict";
  var button = document.getElementById("sheet-print");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
