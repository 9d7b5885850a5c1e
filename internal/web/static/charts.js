// Usage charts of the container page, drawn with uPlot (vendor/uplot, see
// docs/vendor.md) from the dashboard's own rrddata JSON (PVE's samples; a
// missing value is a gap). Without script the page shows a table of the
// latest values instead. The hour chart reloads every minute, PVE's
// resolution for that time frame.
(function () {
  "use strict";

  var KiB = 1024;

  function fmtBytes(v) {
    if (v == null) { return "–"; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (Math.abs(v) >= KiB && i < units.length - 1) { v /= KiB; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  }
  function fmtRate(v) { return v == null ? "–" : fmtBytes(v) + "/s"; }
  function fmtPct(v) { return v == null ? "–" : (v * 100).toFixed(1) + "%"; }

  function css(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  // Each chart: its title, its series (PVE field, label, colour variable)
  // and the unit of its axis.
  var charts = {
    cpu: { title: "CPU", fmt: fmtPct, series: [["cpu", "CPU", "--chart-1"]] },
    mem: { title: "Memory", fmt: fmtBytes, series: [["mem", "Used", "--chart-1"], ["maxmem", "Total", "--chart-3"]] },
    net: { title: "Network", fmt: fmtRate, series: [["netin", "In", "--chart-1"], ["netout", "Out", "--chart-2"]] },
    disk: { title: "Disk I/O", fmt: fmtRate, series: [["diskread", "Read", "--chart-1"], ["diskwrite", "Write", "--chart-2"]] }
  };

  function columns(points, fields) {
    var cols = [points.map(function (p) { return p.time; })];
    fields.forEach(function (f) {
      // A field PVE left out of a sample is a gap (null), never a zero.
      cols.push(points.map(function (p) { return Object.prototype.hasOwnProperty.call(p, f) ? p[f] : null; }));
    });
    return cols;
  }

  function draw(box, kind, points, plots) {
    var spec = charts[kind];
    var width = Math.max(box.clientWidth, 240);
    var data = columns(points, spec.series.map(function (s) { return s[0]; }));
    if (plots[kind]) {
      plots[kind].setData(data);
      return;
    }
    var axisColor = css("--muted", "#667085");
    var gridColor = css("--border", "#e3e6eb");
    var opts = {
      title: spec.title,
      width: width,
      height: 180,
      series: [{}].concat(spec.series.map(function (s) {
        return { label: s[1], stroke: css(s[2], "#1d5fb8"), width: 2, spanGaps: false, value: function (u, v) { return spec.fmt(v); } };
      })),
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor } },
        { stroke: axisColor, grid: { stroke: gridColor }, size: 84, values: function (u, vals) { return vals.map(spec.fmt); } }
      ],
      scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } }
    };
    box.textContent = "";
    plots[kind] = new window.uPlot(opts, data, box);
  }

  function init() {
    var wrap = document.querySelector(".charts[data-rrd]");
    if (!wrap || !window.uPlot || !window.fetch) {
      return;
    }
    var plots = {};
    var table = document.getElementById("latest-values");

    function load() {
      fetch(wrap.dataset.rrd, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (resp) {
          if (!resp.ok) { throw new Error("status " + resp.status); }
          return resp.json();
        })
        .then(function (points) {
          wrap.querySelectorAll("[data-chart]").forEach(function (box) {
            draw(box, box.dataset.chart, points, plots);
          });
          wrap.dataset.loaded = String(Number(wrap.dataset.loaded || "0") + 1);
          if (table) { table.hidden = true; }
        })
        .catch(function () {
          wrap.dataset.error = "1";
        });
    }
    load();
    if (wrap.dataset.timeframe === "hour") {
      window.setInterval(load, 60000);
    }
    window.addEventListener("resize", function () {
      Object.keys(plots).forEach(function (k) {
        var box = wrap.querySelector('[data-chart="' + k + '"]');
        plots[k].setSize({ width: Math.max(box.clientWidth, 240), height: 180 });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
