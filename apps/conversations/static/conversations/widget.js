/* Charla web-chat widget. Served wrapped as (function (CONFIG) { … })({key, session, prechat, upload, socket}).
 * Runs on merchants' pages: everything lives in a shadow root, user data is only set with textContent. */
"use strict";
if (window.__charlaWidget && window.__charlaWidget[CONFIG.key]) return;
window.__charlaWidget = window.__charlaWidget || {};
window.__charlaWidget[CONFIG.key] = true;

var STORE = "charla-widget:" + CONFIG.key;
var MAX_BYTES = 10 * 1024 * 1024;
var state = loadState();
var live = null; // CharlaLive (static/core/live.js), bundled in front of this file by widget_views
var authed = false;
var pending = {}; // client id -> text, until the server acknowledged it
var lastTyping = 0;
var typingTimer = null;
var ui = {};

function loadState() {
  try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
}
function saveState() {
  try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: session only */ }
}
function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  var b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}
function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function appendText(node, text, links) {
  // http(s) links in the business's messages (e.g. a consent confirmation link) become clickable;
  // everything else stays a text node, so no message can inject markup.
  var re = /https?:\/\/[^\s<>"']+/g, last = 0, match;
  while (links && (match = re.exec(text))) {
    node.appendChild(document.createTextNode(text.slice(last, match.index)));
    node.appendChild(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]));
    last = match.index + match[0].length;
  }
  node.appendChild(document.createTextNode(text.slice(last)));
}

// ------------------------------------------------------------------ HTTP
function post(url, body) {
  var init = { method: "POST", mode: "cors", credentials: "omit" };
  if (body instanceof FormData) init.body = body;
  else { init.body = JSON.stringify(body); init.headers = { "Content-Type": "application/json" }; }
  return fetch(url, init).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (data) {
      if (!r.ok) { var err = new Error((data.error && data.error.message) || "Request failed"); err.data = data; err.status = r.status; throw err; }
      return data;
    });
  });
}

// ------------------------------------------------------------------ UI
var CSS = [
  ":host{all:initial}",
  ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;background:#1f5fbf;color:#fff;border:0;border-radius:24px;padding:12px 18px;font:600 15px system-ui,sans-serif;cursor:pointer}",
  ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;color:#1d2430;border:1px solid #d5dbe3;border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,.18);font:14px/1.4 system-ui,sans-serif}",
  ".panel[hidden]{display:none}",
  "header{padding:10px 12px;background:#1f5fbf;color:#fff;border-radius:10px 10px 0 0;display:flex;justify-content:space-between;align-items:center}",
  "header h2{font-size:15px;margin:0}",
  ".status{font-size:12px;opacity:.9}",
  ".log{flex:1;overflow-y:auto;padding:10px;margin:0;list-style:none;display:flex;flex-direction:column;gap:6px}",
  ".msg{max-width:80%;padding:6px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}",
  ".msg.inbound{align-self:flex-end;background:#1f5fbf;color:#fff}",
  ".msg.outbound{align-self:flex-start;background:#f2f4f7}",
  ".msg .meta{display:block;font-size:11px;opacity:.75}",
  ".typing{min-height:18px;padding:0 12px;font-size:12px;color:#4f5b6b}",
  ".error{color:#b42318;padding:0 12px;font-size:12px;min-height:0}",
  "form{display:flex;gap:6px;padding:8px;border-top:1px solid #d5dbe3;flex-wrap:wrap}",
  "form.prechat{flex-direction:column}",
  "textarea,input[type=text],input[type=email],input[type=tel]{font:inherit;flex:1;padding:6px;border:1px solid #8a94a3;border-radius:6px;resize:none}",
  "button{font:inherit;padding:6px 10px;border-radius:6px;border:1px solid #1f5fbf;background:#1f5fbf;color:#fff;cursor:pointer}",
  "button.secondary{background:#fff;color:#1f5fbf}",
  "label{font-size:13px}",
  ":focus-visible{outline:3px solid #f5a524;outline-offset:2px}",
  ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
].join("\n");

function buildUI(config) {
  var host = el("div", { id: "charla-widget", "data-key": CONFIG.key });
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && CSSStyleSheet.prototype.replaceSync) {
    // A constructed sheet is not an inline <style>: pages with a strict style-src (the portal's own demo shop
    // and preview among them) still draw the widget.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", {}, CSS));
  }
  ui.launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false" }, config.title || "Chat");
  ui.panel = el("section", { class: "panel", role: "dialog", "aria-label": config.title || "Chat" });
  ui.panel.hidden = true;
  var header = el("header");
  header.appendChild(el("h2", {}, config.title || "Chat"));
  ui.status = el("span", { class: "status", role: "status", "aria-live": "polite" }, "");
  header.appendChild(ui.status);
  var close = el("button", { type: "button", class: "secondary", "aria-label": "Close chat" }, "×");
  header.appendChild(close);
  ui.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  ui.typing = el("p", { class: "typing", "aria-live": "polite" });
  ui.error = el("p", { class: "error", role: "alert" });
  ui.panel.appendChild(header);
  ui.panel.appendChild(ui.log);
  ui.panel.appendChild(ui.typing);
  ui.panel.appendChild(ui.error);
  root.appendChild(ui.launcher);
  root.appendChild(ui.panel);
  if (config.greeting) ui.log.appendChild(el("li", { class: "msg outbound greeting" }, config.greeting));
  ui.launcher.addEventListener("click", function () { toggle(ui.panel.hidden); });
  close.addEventListener("click", function () { toggle(false); });
  ui.root = root;
}

function toggle(open) {
  ui.panel.hidden = !open;
  ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
  if (open) { sendSeen(); var f = ui.panel.querySelector("textarea, input"); if (f) f.focus(); }
}

function showError(text) { ui.error.textContent = text || ""; }

function buildComposer() {
  var form = el("form", { class: "composer" });
  var label = el("label", { for: "charla-text", class: "vh" }, "Message");
  ui.text = el("textarea", { id: "charla-text", rows: "2", maxlength: "4096", placeholder: "Write a message…" });
  var file = el("input", { type: "file", id: "charla-file", class: "vh" });
  var attach = el("button", { type: "button", class: "secondary", "aria-label": "Attach a file" }, "File");
  var sendButton = el("button", { type: "submit" }, "Send");
  form.appendChild(label); form.appendChild(ui.text); form.appendChild(file); form.appendChild(attach); form.appendChild(sendButton);
  form.addEventListener("submit", function (e) { e.preventDefault(); sendText(); });
  ui.text.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); } });
  ui.text.addEventListener("input", typing);
  attach.addEventListener("click", function () { file.click(); });
  file.addEventListener("change", function () { if (file.files[0]) upload(file.files[0]); file.value = ""; });
  ui.panel.appendChild(form);
}

var PRECHAT = [
  { field: "name", label: "Name", type: "text", autocomplete: "name", maxlength: "200" },
  { field: "email", label: "E-mail", type: "email", autocomplete: "email", maxlength: "254" },
  { field: "phone", label: "Phone", type: "tel", autocomplete: "tel", maxlength: "30" }
];

function prechatModes(config) {
  // Older servers sent only prechat_email_required: a name and an e-mail address.
  return config.prechat_fields || { name: "optional", email: config.prechat_email_required ? "required" : "optional", phone: "off" };
}

function buildPrechat(config, onDone) {
  var form = el("form", { class: "prechat", novalidate: "" });
  var modes = prechatModes(config), inputs = {};
  PRECHAT.forEach(function (spec) {
    var mode = modes[spec.field];
    if (mode !== "optional" && mode !== "required") return;
    form.appendChild(el("label", { for: "charla-" + spec.field }, spec.label + (mode === "required" ? "" : " (optional)")));
    var attrs = { type: spec.type, id: "charla-" + spec.field, name: spec.field, autocomplete: spec.autocomplete, maxlength: spec.maxlength };
    if (mode === "required") attrs["aria-required"] = "true";
    inputs[spec.field] = el("input", attrs);
    form.appendChild(inputs[spec.field]);
  });
  var consentLabel = el("label", {});
  var consent = el("input", { type: "checkbox", id: "charla-consent" });
  consentLabel.appendChild(consent);
  consentLabel.appendChild(document.createTextNode(" " + config.consent_wording));
  form.appendChild(consentLabel);
  form.appendChild(el("button", { type: "submit" }, "Start chat"));
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { token: state.token, consent: consent.checked, page_url: location.href };
    Object.keys(inputs).forEach(function (field) { body[field] = inputs[field].value; });
    post(CONFIG.prechat, body)
      .then(function () { form.remove(); showError(""); onDone(); })
      .catch(function (err) { showError(fieldErrors(err)); });
  });
  ui.panel.appendChild(form);
}

function fieldErrors(err) {
  // The server words each problem for the customer; field names are for the code, never shown.
  var fields = (err.data && err.data.error && err.data.error.fields) || {};
  var parts = [];
  Object.keys(fields).forEach(function (k) { parts = parts.concat(fields[k]); });
  return parts.length ? parts.join(" ") : err.message;
}

// ------------------------------------------------------------------ messages
function findMessage(id) { return ui.log.querySelector('[data-message-id="' + Number(id) + '"]'); }

function render(m, clientId) {
  if (m.id && findMessage(m.id)) return findMessage(m.id);
  var li = el("li", { class: "msg " + (m.direction || "inbound") });
  if (m.id) li.setAttribute("data-message-id", String(Number(m.id)));
  if (clientId) li.setAttribute("data-client-id", clientId);
  appendText(li, m.body || "", m.direction === "outbound");
  (m.attachments || []).forEach(function (a) {
    var label = "File: " + ((a && (a.filename || a.type)) || "attachment");
    var node = el("span", { class: "meta" });
    if (a && typeof a.url === "string" && a.url.charAt(0) === "/") {
      // Signed paths come from the portal; resolve them against the portal, never the shop's page.
      var link = el("a", { href: new URL(a.url, CONFIG.session).href, target: "_blank", rel: "noopener" }, label);
      node.appendChild(link);
    } else {
      node.textContent = label;
    }
    li.appendChild(node);
  });
  var meta = el("span", { class: "meta status" }, m.direction === "inbound" ? statusLabel(m.status) : "");
  li.appendChild(meta);
  ui.log.appendChild(li);
  ui.log.scrollTop = ui.log.scrollHeight;
  return li;
}

function statusLabel(status) { return { sending: "Sending…", received: "Sent", failed: "Not sent" }[status] || ""; }

function applyEvent(ev) {
  var m = ev.message || {};
  if (ev.kind === "message.created") {
    render(m);
    if (m.direction === "outbound") { ui.typing.textContent = ""; sendSeen(); }
  }
}

function sendText() {
  var text = ui.text.value.trim();
  if (!text) return;
  var id = uuid();
  pending[id] = text;
  render({ body: text, direction: "inbound", status: "sending" }, id);
  ui.text.value = "";
  lastTyping = 0; // the next keystroke starts a new "is typing" at once
  send({ type: "message", id: id, text: text });
}

function typing() {
  var now = Date.now();
  if (now - lastTyping > 2000) { lastTyping = now; send({ type: "typing", state: "on" }); }
}

function sendSeen() {
  if (!ui.panel || ui.panel.hidden) return;
  var last = ui.log.querySelectorAll(".msg.outbound[data-message-id]");
  if (last.length) send({ type: "seen", message_id: Number(last[last.length - 1].getAttribute("data-message-id")) });
}

function upload(file) {
  if (file.size > MAX_BYTES) { showError("“" + file.name + "” is larger than 10 MB."); return; }
  var id = uuid();
  var li = render({ body: "", direction: "inbound", status: "sending", attachments: [{ filename: file.name }] }, id);
  var form = new FormData();
  form.append("token", state.token); form.append("id", id); form.append("file", file);
  post(CONFIG.upload, form).then(function (data) {
    if (data.message_id) li.setAttribute("data-message-id", String(Number(data.message_id)));
    li.querySelector(".status").textContent = statusLabel("received");
    showError("");
    send({ type: "resume", after_seq: state.lastSeq || 0 });
  }).catch(function (err) { li.remove(); showError(fieldErrors(err)); });
}

// ------------------------------------------------------------------ socket
function send(obj) {
  return Boolean(live) && (authed || obj.type === "auth") && live.send(obj);
}

function connect() {
  ui.status.textContent = "Connecting…";
  // The client reconnects with backoff and drops repeated seqs; the auth frame carries the resume point.
  live = CharlaLive.connect({
    url: CONFIG.socket,
    lastSeq: state.lastSeq || 0,
    openFrame: function (afterSeq) { return { type: "auth", token: state.token, after_seq: afterSeq }; },
    onSeq: function (seq) { state.lastSeq = seq; saveState(); },
    onEvent: applyEvent,
    onFrame: onMessage,
    onClose: function (e) {
      authed = false;
      if (e.code === 4401) { state = {}; saveState(); ui.status.textContent = "Session expired: reload the page."; return; }
      if (e.code === 4403 || e.code === 4404) { ui.status.textContent = "Chat unavailable on this site."; return; }
      ui.status.textContent = "Reconnecting…";
    },
  });
}

function onMessage(msg) {
  if (msg.type === "ready") {
    authed = true;
    ui.status.textContent = "Online";
    // Anything not acknowledged before the connection dropped is sent again: the server keeps one copy per id.
    Object.keys(pending).forEach(function (id) { send({ type: "message", id: id, text: pending[id] }); });
  } else if (msg.type === "ack") {
    delete pending[msg.id];
    var li = ui.log.querySelector('[data-client-id="' + msg.id + '"]');
    if (li && msg.message_id) {
      var dup = findMessage(msg.message_id);
      if (dup && dup !== li) dup.remove();
      li.setAttribute("data-message-id", String(Number(msg.message_id)));
      li.querySelector(".status").textContent = statusLabel("received");
    }
  } else if (msg.type === "typing") {
    ui.typing.textContent = msg.state === "off" ? "" : (msg.name || "An agent") + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { ui.typing.textContent = ""; }, 6000);
  } else if (msg.type === "error") {
    showError(msg.message);
    var refusedCodes = { rate_limited: true, prechat_required: true };
    var refused = refusedCodes[msg.code] && msg.id && ui.log.querySelector('[data-client-id="' + msg.id + '"]');
    if (refused) { delete pending[msg.id]; refused.querySelector(".status").textContent = statusLabel("failed"); }
  }
}

// ------------------------------------------------------------------ start
function start() {
  post(CONFIG.session, { token: state.token || "", page_url: location.href }).then(function (data) {
    // The history below is complete up to last_seq; the socket's resume brings whatever came after.
    state.token = data.token;
    state.lastSeq = data.last_seq;
    saveState();
    buildUI(data.config);
    (data.messages || []).forEach(function (m) { render(m); });
    var ready = function () { buildComposer(); connect(); };
    if (data.config.prechat && !data.prechat_done) buildPrechat(data.config, ready);
    else ready();
  }).catch(function () { /* not allowed on this site or the portal is down: stay invisible */ });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
