// SLA alerts in the portal: listens on the agents' socket (/ws/inbox/, via static/core/live.js) for
// ticket.sla_warning and ticket.sla_breach events and shows the ones for me, my teams (or all to admins).
(function () {
  "use strict";
  var box = document.getElementById("sla-alerts");
  if (!box || !window.CharlaLive) return;
  var teams = (box.dataset.teamIds || "").split(",").filter(Boolean).map(Number);
  var everything = box.dataset.all === "1";
  var me = null;

  function concernsMe(p) {
    return everything || p.assignee_id === me || teams.indexOf(p.team_id) !== -1;
  }

  function show(kind, p) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = box.dataset.ticketUrl.replace("0", String(p.ticket_id));
    a.textContent = "#" + p.number + " " + p.subject;
    var what = kind === "ticket.sla_breach" ? " breached its " : " is about to breach its ";
    li.appendChild(a);
    li.appendChild(document.createTextNode(what + p.metric.replace("_", " ") + " SLA."));
    box.appendChild(li);
    setTimeout(function () { li.remove(); }, 60000);
    var table = document.getElementById("ticket-table");
    if (table && window.htmx) window.htmx.ajax("GET", window.location.href, "#ticket-table");
  }

  window.CharlaLive.connect({
    path: "/ws/inbox/",
    onFrame: function (frame) { if (frame.type === "hello") me = frame.user_id; },
    onEvent: function (event) {
      if ((event.kind === "ticket.sla_warning" || event.kind === "ticket.sla_breach") && concernsMe(event.payload)) {
        show(event.kind, event.payload);
      }
    },
  });
})();
