/* Charla inbox: one WebSocket per tab, live updates without reloads.
 * User data is only ever written with textContent, never innerHTML. */
(function () {
  "use strict";

  var statusEl = document.getElementById("live-status");
  if (!statusEl || !window.CharlaLive) return;
  var conversationEl = document.querySelector("section.conversation");
  var openId = conversationEl ? Number(conversationEl.dataset.conversationId) : null;
  var canned = readJSON("inbox-canned", []) || [];
  var live = null;
  var typingTimer = null;
  var lastTypingSent = 0;
  var heartbeat = null;
  var STATUS_LABELS = { queued: "Queued", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed", received: "Received" };

  function readJSON(id, fallback) {
    var el = document.getElementById(id);
    if (!el) return fallback;
    try { return JSON.parse(el.textContent); } catch (e) { return fallback; }
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function send(obj) {
    if (live) live.send(obj);
  }

  // ------------------------------------------------------------------ connection
  function connect() {
    // static/core/live.js reconnects with backoff, resumes from the last seq and drops repeated seqs.
    live = window.CharlaLive.connect({
      path: "/ws/inbox/",
      lastSeq: readJSON("inbox-last-seq", 0) || 0,
      onOpen: sendPresence,
      onEvent: applyEvent,
      onFrame: handle,
      onClose: function (e) {
        if (e.code === 4401) return setStatus("offline", "Offline: your session ended, sign in again.");
        if (e.code === 4403) return setStatus("offline", "Offline: you no longer have access to this inbox.");
        setStatus("reconnecting", "Reconnecting…");
      },
    });
  }

  function handle(msg) {
    if (msg.type === "resumed") {
      setStatus("live", "Live");
      if (openId) markRead();
    } else if (msg.type === "typing") {
      showTyping(msg);
    } else if (msg.type === "reload") {
      location.reload();
    } else if (msg.type === "error") {
      showError(msg.message);
    }
  }

  // ------------------------------------------------------------------ events
  function applyEvent(ev) {
    var p = ev.payload || {};
    if (ev.kind === "message.created") {
      // The conversation's new summary (preview, unread count, status) rides along with its message.
      if (p.conversation) {
        updateRow(p.conversation);
        if (p.conversation.id === openId) updateHeader(p.conversation);
      }
      if (p.conversation_id === openId) {
        appendMessage(p);
        if (p.direction === "inbound") { markRead(); clearTyping(); refreshBlockedComposer(); }
      }
    } else if (ev.kind === "message.updated") {
      updateMessageStatus(p);
    } else if (ev.kind === "conversation.created" || ev.kind === "conversation.updated") {
      updateRow(p);
      if (p.id === openId) updateHeader(p);
    }
  }

  function memberName(userId) {
    var select = document.getElementById("id_assignee_pick");
    if (!select || userId === null || userId === undefined) return "";
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === String(userId)) return select.options[i].textContent;
    }
    return "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function statusText(p) {
    var text = STATUS_LABELS[p.status] || p.status || "";
    if (p.status === "failed" && p.error) text += ": " + (p.error.message || p.error.code || "");
    return text;
  }

  function appendMessage(p) {
    var list = document.getElementById("message-list");
    if (!list || document.getElementById("msg-" + p.id)) return;
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    var li = el("li", "msg " + (p.direction || "") + (p.kind === "note" ? " note" : ""));
    li.id = "msg-" + p.id;
    li.dataset.messageId = p.id;
    li.dataset.status = p.status || "";
    var who = p.direction === "inbound" ? (conversationEl.dataset.contactName || "Customer")
      : (memberName(p.author_id) || (p.author_kind === "bot" ? "Bot" : "Agent"));
    var meta = el("p", "msg-meta muted", (p.kind === "note" ? "Private note · " : "") + who + " · ");
    var when = el("time", null, p.created_at && window.CharlaTime ? window.CharlaTime.absolute(p.created_at) : "");
    if (p.created_at) when.setAttribute("datetime", p.created_at);
    meta.appendChild(when);
    li.appendChild(meta);
    li.appendChild(el("p", "msg-body", p.body || ""));
    (p.attachments || []).forEach(function (a) {
      li.appendChild(el("p", "msg-file", (a && (a.filename || a.type)) || "attachment"));
    });
    if (p.direction === "outbound" && p.kind !== "note") {
      var st = el("p", "msg-status", statusText(p));
      st.dataset.status = p.status || "";
      li.appendChild(st);
    }
    list.appendChild(li);
    if (nearBottom) list.scrollTop = list.scrollHeight;
    if ((p.attachments || []).length && window.htmx) {
      // Stored files get download links: let the server render this one message as the history does.
      window.htmx.ajax("GET", "/inbox/c/" + openId + "/m/" + Number(p.id) + "/", { target: li, swap: "outerHTML" });
    }
  }

  function updateMessageStatus(p) {
    var li = document.getElementById("msg-" + p.id);
    if (!li) return;
    li.dataset.status = p.status || "";
    var st = li.querySelector(".msg-status");
    if (st) { st.textContent = statusText(p); st.dataset.status = p.status || ""; }
  }

  function rowWanted(p) {
    var tab = (document.getElementById("conversation-list") || {}).dataset;
    tab = tab ? tab.tab : "all";
    var status = document.getElementById("id_status");
    if (status && status.value ? status.value !== p.status : p.status === "resolved") return false;
    var channel = document.getElementById("id_channel");
    if (channel && channel.value && channel.value !== String(p.channel_id)) return false;
    var label = document.getElementById("id_label");
    if (label && label.value && (p.labels || []).indexOf(label.value) === -1) return false;
    var search = document.getElementById("id_q");
    if (search && search.value) return false; // a search result list is not extended by unrelated activity
    if (tab === "mine") return String(p.assignee_id) === String(document.querySelector(".inbox").dataset.userId);
    if (tab === "unassigned") return !p.assignee_id;
    return true;
  }

  function updateRow(p) {
    var list = document.getElementById("conversation-list");
    if (!list) return;
    var row = document.getElementById("row-" + p.id);
    if (!row) {
      if (rowWanted(p) && window.htmx) {
        var holder = document.createElement("li");
        holder.id = "row-" + p.id;
        list.insertBefore(holder, list.firstChild);
        window.htmx.ajax("GET", "/inbox/c/" + p.id + "/row/?view=" + encodeURIComponent(list.dataset.tab || ""),
          { target: holder, swap: "outerHTML" });
        var empty = list.querySelector("li.empty");
        if (empty) empty.remove();
      }
      return;
    }
    var previousAt = row.dataset.lastMessageAt;
    row.dataset.status = p.status || "";
    row.dataset.assigneeId = p.assignee_id || "";
    var preview = row.querySelector(".preview");
    if (preview && p.last_message_preview !== undefined) preview.textContent = p.last_message_preview || "";
    var status = row.querySelector(".status");
    if (status && p.status) status.textContent = p.status.charAt(0).toUpperCase() + p.status.slice(1);
    var badge = row.querySelector(".unread-badge");
    if (badge) {
      var count = p.id === openId ? 0 : (p.unread_count || 0);
      badge.hidden = count === 0;
      badge.dataset.count = count;
      badge.querySelector(".count").textContent = count;
    }
    if (p.last_message_at && new Date(p.last_message_at).getTime() !== new Date(previousAt).getTime()) {
      row.dataset.lastMessageAt = p.last_message_at;
      var when = row.querySelector("time[data-relative]");
      if (when && window.CharlaTime) when.replaceWith(window.CharlaTime.relativeElement(p.last_message_at));
      list.insertBefore(row, list.firstChild);
    }
  }

  function updateHeader(p) {
    var status = document.getElementById("conversation-status");
    if (status && p.status) status.textContent = p.status.charAt(0).toUpperCase() + p.status.slice(1);
    var assignee = document.getElementById("conversation-assignee");
    if (assignee) assignee.textContent = memberName(p.assignee_id) || "nobody";
  }

  function refreshBlockedComposer() {
    // A customer's message may reopen the reply window: ask the server again, unless the agent is typing.
    var form = document.getElementById("composer");
    var text = document.getElementById("id_text");
    // A half-filled template form is work in progress too.
    if (!form || !form.querySelector(".send-block") || (text && text.value) || document.getElementById("template-send") || !window.htmx) return;
    window.htmx.ajax("GET", "/inbox/c/" + openId + "/composer/", { target: form, swap: "outerHTML" });
  }

  // ------------------------------------------------------------------ typing, read, presence
  function showTyping(msg) {
    if (msg.conversation_id !== openId) return;
    var node = document.getElementById("typing-indicator");
    if (!node) return;
    if (msg.state === "off") { node.textContent = ""; return; }
    node.textContent = (msg.who === "contact" ? (conversationEl.dataset.contactName || "The customer") : (msg.name || "An agent")) + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(clearTyping, 6000);
  }

  function clearTyping() {
    var node = document.getElementById("typing-indicator");
    if (node) node.textContent = "";
  }

  function markRead() {
    if (openId && document.visibilityState === "visible") send({ type: "read", conversation_id: openId });
  }

  function sendPresence() {
    send({ type: "presence", status: document.visibilityState === "visible" ? "online" : "away" });
  }

  function showError(text) {
    var node = document.getElementById("action-error");
    if (node) node.textContent = text || "";
  }

  // ------------------------------------------------------------------ composer: typing + canned responses
  function cannedMatches(prefix) {
    return canned.filter(function (c) { return c.shortcut.indexOf(prefix) === 0; }).slice(0, 8);
  }

  function expand(textarea, item) {
    textarea.value = item.body;
    renderSuggestions(textarea);
    textarea.focus();
  }

  function renderSuggestions(textarea) {
    var box = document.getElementById("canned-suggestions");
    if (!box) return;
    while (box.firstChild) box.removeChild(box.firstChild);
    var m = /^\/([\w-]*)$/.exec(textarea.value);
    if (!m) return;
    cannedMatches(m[1]).forEach(function (item) {
      var li = el("li");
      var button = el("button", "link", "/" + item.shortcut + (item.title ? " — " + item.title : ""));
      button.type = "button";
      button.addEventListener("click", function () { expand(textarea, item); });
      li.appendChild(button);
      box.appendChild(li);
    });
  }

  document.addEventListener("input", function (e) {
    if (e.target.id !== "id_text") return;
    renderSuggestions(e.target);
    var now = Date.now();
    if (openId && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      send({ type: "typing", conversation_id: openId, state: "on" });
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.target.id !== "id_text" || (e.key !== "Tab" && e.key !== " ")) return;
    var m = /^\/([\w-]+)$/.exec(e.target.value);
    if (!m) return;
    var exact = canned.filter(function (c) { return c.shortcut === m[1]; })[0];
    if (exact) { e.preventDefault(); expand(e.target, exact); }
  });

  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.status === 422 && e.detail.target && e.detail.target.id === "composer") return;
    showError(xhr ? xhr.responseText : "The action failed.");
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    // A refused reply comes back as the composer with its errors: show it instead of dropping it.
    if (e.detail.xhr.status === 422 && e.detail.target && e.detail.target.id === "composer") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("#composer")) lastTypingSent = 0;
    if (e.detail.successful && e.detail.elt && e.detail.elt.closest && e.detail.elt.closest(".conversation-actions")) showError("");
  });

  document.addEventListener("visibilitychange", function () { sendPresence(); markRead(); });
  heartbeat = setInterval(sendPresence, 30000);

  var list = document.getElementById("message-list");
  if (list) list.scrollTop = list.scrollHeight;
  connect();
})();
