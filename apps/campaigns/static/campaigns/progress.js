// Live campaign progress: the funnel, the chart and the counts by state, from progress events on the
// campaign's socket (static/core/live.js). Replies and opt-outs come from the page (not in the payload).
(function () {
  const root = document.getElementById("live");
  if (!root || !window.CharlaLive) return;
  const BAR_MAX = 320;  // apps/campaigns/views.py: BAR_MAX
  const ORDER = ["audience", "reachable", "sent", "delivered", "read", "replied", "opted_out"];
  const FIELD = {sent: "sent_total", delivered: "delivered_total"};

  function cell(field) { return root.querySelector(`[data-field="${field}"]`); }
  function current(key) { const el = cell(FIELD[key] || key); return el ? Number(el.textContent) || 0 : 0; }

  function redraw() {
    const top = Math.max(current("audience"), 1);
    let previous = null;
    for (const key of ORDER) {
      const n = current(key);
      const share = root.querySelector(`[data-share="${key}"]`);
      if (share && previous !== null) share.textContent = previous ? `${Math.round(100 * n / previous)}%` : "—";
      const bar = root.querySelector(`[data-bar="${key}"]`);
      if (bar) {
        const width = Math.round(BAR_MAX * n / top);
        bar.setAttribute("width", width);
        const label = bar.nextElementSibling;
        if (label) { label.setAttribute("x", 100 + width + 6); label.textContent = n; }
      }
      previous = n;
    }
  }

  function apply(payload) {
    const s = payload.states || {};
    for (const [state, n] of Object.entries(s)) {
      const el = root.querySelector(`[data-state="${state}"]`);
      if (el) el.textContent = n;
    }
    const set = (field, value) => { const el = cell(field); if (el) el.textContent = value; };
    if (payload.status !== undefined) set("status", payload.status_label || payload.status);
    if (payload.audience !== undefined) {
      set("audience", payload.audience);
      const left = Object.values(payload.skipped || {}).reduce((a, b) => a + b, 0);
      set("reachable", payload.audience - left);
    }
    set("sent_total", (s.sent || 0) + (s.delivered || 0) + (s.read || 0));
    set("delivered_total", (s.delivered || 0) + (s.read || 0));
    set("read", s.read || 0);
    redraw();
  }

  window.CharlaLive.connect({
    path: root.dataset.socket,
    onFrame: (frame) => {
      if (frame.type !== "progress") return;  // the snapshot sent at connect
      apply(frame.payload);
      root.dataset.connected = "true";  // counts are live from here on
    },
    onEvent: (event) => { if (event.kind === "campaign.progress") apply(event.payload); },
    onClose: () => { delete root.dataset.connected; },
  });
})();
