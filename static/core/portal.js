/* Behaviour the templates ask for with data- attributes, so no page needs an inline script or
 * on*= handler (the Content-Security-Policy refuses both). Delegated, so htmx-swapped content works too. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
  });
  document.addEventListener("click", function (event) {
    var field = event.target.closest("[data-select-on-click]");
    if (field) field.select();
  });
  document.addEventListener("click", function (event) {
    // A "Copy" button next to a read-only field (webhook URL, verify token, widget snippet).
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) return;
    var text = field.value !== undefined ? field.value : field.textContent;
    var done = function (label) {
      button.textContent = label;
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { field.select(); done("Press Ctrl+C to copy"); });
    } else {
      field.select();
      done("Press Ctrl+C to copy");
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
})();
/* The phone menu: a button with aria-expanded that folds the navigation (CSS hides it only once this ran). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("open", open);
  });
})();
