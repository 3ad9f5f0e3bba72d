// Live campaign progress: counts by state pushed over the campaign's WebSocket.
(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let delay = 1000;
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
  function connect() {
    const socket = new WebSocket(scheme + location.host + root.dataset.socket);
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type !== "progress") return;
      apply(data.payload);
      root.dataset.connected = "true";  // counts are live from here on
    };
    socket.onclose = (event) => {
      delete root.dataset.connected;
      if (event.code === 4401 || event.code === 4403) return;  // access ended: retrying cannot help
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
