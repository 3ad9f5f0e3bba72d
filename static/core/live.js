// The one live socket client: connect, reconnect with backoff, resume from the last seq seen, drop seqs
// already delivered, hand each event to a callback. Every Charla socket speaks the same protocol: events
// are {"type": "event", "seq", "kind", "payload"}; a client names the last seq it saw in `after_seq` (the
// portal sockets' first frame carries `last_seq`, the client answers {"type": "resume", "after_seq": n};
// the widget puts `after_seq` in its auth frame); the server replays what was missed, then "resumed".
// A top-level `var`: a global in the portal's pages, a local inside the widget bundle (widget_views).
var CharlaLive = (function () {
  "use strict";
  var SEEN_WINDOW = 2000;
  var STOP_CODES = [4401, 4403, 4404];  // session ended, access ended, nothing to watch: retrying cannot help

  // options: path or url; lastSeq (the seq a page was rendered at); openFrame(lastSeq) (a frame to send
  // on open, which then carries the resume); onEvent, onFrame, onOpen, onClose, onSeq callbacks.
  function connect(options) {
    var lastSeq = typeof options.lastSeq === "number" ? options.lastSeq : null;
    var delay = 1000, socket = null, seen = [], stopped = false;

    function firstTime(seq) {
      if (seen.indexOf(seq) !== -1) return false;
      seen.push(seq);
      if (seen.length > SEEN_WINDOW) seen.shift();
      return true;
    }

    function advance(seq) {
      if (typeof seq !== "number" || (lastSeq !== null && seq <= lastSeq)) return;
      lastSeq = seq;
      if (options.onSeq) options.onSeq(lastSeq);
    }

    function onFirst(frame) {
      // After a reconnect (or from the seq the page shows), ask for what was missed; else start from now.
      if (lastSeq !== null) send({ type: "resume", after_seq: lastSeq });
      else advance(frame.last_seq || 0);
    }

    function onMessage(message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (err) { return; }
      if (frame.type === "resumed") advance(frame.last_seq);
      else if (frame.last_seq !== undefined && !options.openFrame) onFirst(frame);
      if (frame.type === "event") {
        var fresh = firstTime(frame.seq);
        advance(frame.seq);
        if (fresh && options.onEvent) options.onEvent(frame);
      } else if (options.onFrame) {
        options.onFrame(frame);
      }
    }

    function open() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(options.url || scheme + window.location.host + options.path);
      socket.onmessage = onMessage;
      socket.onopen = function () {
        delay = 1000;
        if (options.openFrame) send(options.openFrame(lastSeq || 0));
        if (options.onOpen) options.onOpen();
      };
      socket.onclose = function (event) {
        if (options.onClose) options.onClose(event);
        if (stopped || STOP_CODES.indexOf(event.code) !== -1) return;
        setTimeout(open, delay * (0.75 + Math.random() / 2));  // jitter: a restarted server is not stampeded
        delay = Math.min(delay * 2, 30000);
      };
    }

    function send(frame) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(frame));
      return true;
    }

    if (!window.WebSocket) return null;
    open();
    return { send: send, stop: function () { stopped = true; if (socket) socket.close(); } };
  }

  return { connect: connect };
})();
