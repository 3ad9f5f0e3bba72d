// SLA alerts in the portal: listens on the agents' socket (/ws/inbox/) for ticket.sla_warning and
// ticket.sla_breach events and shows the ones for me, my teams (or all of them to admins).
(function () {
  "use strict";
  var box = document.getElementById("sla-alerts");
  if (!box || !window.WebSocket) return;
  var teams = (box.dataset.teamIds || "").split(",").filter(Boolean).map(Number);
  var everything = box.dataset.all === "1";
  var me = null, lastSeq = null, delay = 1000;

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

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/inbox/");
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "hello") {
        me = data.user_id;
        if (lastSeq !== null) socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
        lastSeq = data.last_seq;
        delay = 1000;
      } else if (data.type === "event") {
        lastSeq = Math.max(lastSeq || 0, data.seq);
        if ((data.kind === "ticket.sla_warning" || data.kind === "ticket.sla_breach") && concernsMe(data.payload)) {
          show(data.kind, data.payload);
        }
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
