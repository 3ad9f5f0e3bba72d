// Times shown by scripts, in the same zone and format as the server's `charla_time` filters: the
// formats, words and month names come from the page (`{% time_settings %}`, apps/core/timefmt.py), never
// from here. `<time data-relative>` elements are refreshed every minute.
var CharlaTime = (function () {
  "use strict";
  var node = document.getElementById("charla-time");
  var settings = node ? JSON.parse(node.textContent) : null;

  function parts(date) {
    var zone = settings ? settings.timezone : "UTC";
    var fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "numeric", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    var out = {};
    fmt.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return { Y: Number(out.year), n: Number(out.month), j: Number(out.day), H: Number(out.hour), i: Number(out.minute) };
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The Django date-format tokens apps.core.timefmt.JS_TOKENS allows; any other character is literal.
  function render(format, date) {
    var p = parts(date), out = "", escaped = false;
    var tokens = {
      d: pad(p.j), j: String(p.j), m: pad(p.n), n: String(p.n), M: settings ? settings.months[p.n - 1] : String(p.n),
      Y: String(p.Y), H: pad(p.H), i: pad(p.i),
    };
    for (var k = 0; k < format.length; k++) {
      var c = format.charAt(k);
      if (escaped) { out += c; escaped = false; }
      else if (c === "\\") escaped = true;
      else out += Object.prototype.hasOwnProperty.call(tokens, c) ? tokens[c] : c;
    }
    return out;
  }

  function absolute(iso, kind) {
    if (!iso || !settings) return iso || "";
    return render(settings.formats[kind || "datetime"], new Date(iso));
  }

  function dayNumber(date) {
    var p = parts(date);
    return Date.UTC(p.Y, p.n - 1, p.j) / 86400000;
  }

  function relative(iso, now) {
    if (!iso || !settings) return iso || "";
    var date = new Date(iso), at = now || new Date(), words = settings.words;
    var seconds = (at.getTime() - date.getTime()) / 1000;
    if (seconds < -60) return absolute(iso);
    if (seconds < 60) return words.now;
    if (seconds < 3600) return words.minutes.replace("{n}", String(Math.floor(seconds / 60)));
    if (seconds < 86400) return words.hours.replace("{n}", String(Math.floor(seconds / 3600)));
    if (dayNumber(date) === dayNumber(at) - 1) return words.yesterday;
    return absolute(iso, "date");
  }

  // A <time> for a script-built element: the same markup `relative_time` renders.
  function relativeElement(iso) {
    var el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.setAttribute("title", absolute(iso));
    el.setAttribute("data-relative", "");
    el.textContent = relative(iso);
    return el;
  }

  function refresh(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (el) {
      el.textContent = relative(el.getAttribute("datetime"));
    });
  }

  if (settings) setInterval(refresh, 60000);
  return { absolute: absolute, relative: relative, relativeElement: relativeElement, refresh: refresh };
})();
