// Live SLA countdowns: every element with data-due (ISO timestamp) shows the time left, updated each second.
(function () {
  "use strict";
  function format(ms) {
    var sign = ms < 0 ? "-" : "";
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    var parts = d ? [d + "d", h + "h", m + "m"] : h ? [h + "h", m + "m", s + "s"] : [m + "m", s + "s"];
    return sign + parts.join(" ");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      if (!el.dataset.label) el.dataset.label = el.textContent.split(":")[0];
      var left = due - now;
      el.classList.toggle("sla-breached", left <= 0);
      el.classList.toggle("sla-due", left > 0);
      el.textContent = left > 0 ? "due in " + format(left) : "breached " + format(-left) + " ago";
      el.title = el.getAttribute("data-due");
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
})();
