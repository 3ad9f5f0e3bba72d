/* The sandbox phone: empty the message box once a message went out, and keep the newest message in view. */
(function () {
  "use strict";
  const thread = document.getElementById("thread");
  const scrollDown = () => { if (thread) thread.scrollTop = thread.scrollHeight; };
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (form.matches && form.matches("form[data-reset-on-send]") && event.detail.successful) form.reset();
  });
  document.body.addEventListener("htmx:afterSwap", (event) => { if (event.detail.target === thread) scrollDown(); });
  scrollDown();
})();
