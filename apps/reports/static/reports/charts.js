// Draws each report chart from the table under it: the table is the data (and what screen readers read);
// the chart only pictures it. Rows are the x axis, each numeric column a series (only the columns marked
// data-plot when some are: counts and seconds on one axis would hide each other). No inline script (CSP).
(function () {
  "use strict";

  var PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2"];

  function series(table) {
    var headCells = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var headers = headCells.map(function (cell) { return cell.textContent.trim(); });
    var chosen = headCells.some(function (cell) { return cell.hasAttribute("data-plot"); });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (row) {
      return row.cells.length === headers.length;
    });
    var labels = rows.map(function (row) { return row.cells[0].textContent.trim(); });
    var datasets = [];
    headers.slice(1).forEach(function (name, index) {
      var values = rows.map(function (row) {
        var raw = row.cells[index + 1].getAttribute("data-value");
        return raw === "" || raw === null ? null : Number(raw);
      });
      var wanted = !chosen || headCells[index + 1].hasAttribute("data-plot");
      var plotted = wanted && values.some(function (v) { return v !== null; });
      if (plotted) {
        var colour = PALETTE[datasets.length % PALETTE.length];
        datasets.push({ label: name, data: values, backgroundColor: colour, borderColor: colour });
      }
    });
    return { labels: labels, datasets: datasets };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-table"));
    if (!table || !window.Chart) {
      canvas.hidden = true; // the table stays: the figures are never only in the chart
      return;
    }
    new window.Chart(canvas, {
      type: canvas.getAttribute("data-chart"),
      data: series(table),
      options: { responsive: true, maintainAspectRatio: false, animation: false },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
