// Live campaign progress: counts by state, as progress events on the campaign's socket (static/core/live.js).
(function () {
  const root = document.getElementById("live");
  if (!root || !window.CharlaLive) return;
  function apply(payload) {
    for (const [state, n] of Object.entries(payload.states || {})) {
      const cell = root.querySelector(`[data-state="${state}"]`);
      if (cell) cell.textContent = n;
    }
    const s = payload.states || {};
    const set = (field, value) => { const el = root.querySelector(`[data-field="${field}"]`); if (el) el.textContent = value; };
    if (payload.audience !== undefined) set("audience", payload.audience);
    if (payload.status !== undefined) set("status", payload.status_label || payload.status);
    set("sent_total", (s.sent || 0) + (s.delivered || 0) + (s.read || 0));
    set("delivered_total", (s.delivered || 0) + (s.read || 0));
    set("read", s.read || 0);
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
