// Charts drawn with the vendored uPlot from JSON the page embeds:
//   <figure data-chart><script type="application/json">{"kind": "pnl", "x": [...], "y": [...]}</script></figure>
// Charts arrive with full pages, boosted navigations and htmx swaps, so every piece of content
// htmx loads is scanned (htmx:load), and a swapped-out chart is destroyed with its element.
(function () {
  "use strict";

  if (window.tradebotsCharts) {
    // Loaded again by a boosted navigation: the listeners exist, just draw the new page.
    window.tradebotsCharts.scan(document);
    return;
  }

  const HEIGHT = 240;
  const GREEN = "#1e6b34";
  const RED = "#9b1c1c";
  const BLUE = "#1a4a8f";
  const GREY = "#8a8f98";
  const AMBER = "#b26a00";
  // Lines across the price chart (see display.Mark): resting orders, grid levels and prices.
  const MARKS = {
    buy: { color: GREEN, dash: [6, 4] },
    sell: { color: RED, dash: [6, 4] },
    level: { color: GREY, dash: [2, 4] },
    trigger: { color: BLUE, dash: [10, 4] },
    stop: { color: AMBER, dash: [10, 4] },
    take: { color: AMBER, dash: [10, 4] },
  };
  // Kinds the price scale stretches to show; a far stop or take is drawn only when in view.
  const FRAMED = ["buy", "sell", "level", "trigger"];

  function whenUPlot(callback, attempts) {
    // Scripts added by an htmx swap load asynchronously; wait for uPlot briefly.
    if (window.uPlot) return callback();
    if ((attempts || 0) > 100) return undefined;
    setTimeout(() => whenUPlot(callback, (attempts || 0) + 1), 50);
    return undefined;
  }

  function formatNumber(value) {
    if (value == null) return "—";
    const abs = Math.abs(value);
    const digits = abs >= 1000 ? 2 : abs >= 1 ? 4 : 6;
    return value.toLocaleString(undefined, { maximumFractionDigits: digits });
  }

  function pnlOptions(data, width) {
    const last = data.y.length ? data.y[data.y.length - 1] : 0;
    const color = last < 0 ? RED : GREEN;
    return {
      width: width,
      height: HEIGHT,
      scales: { x: { time: true } },
      series: [
        { value: (u, ts) => (ts == null ? "—" : new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC") },
        {
          label: data.label || "Cumulative PnL",
          stroke: color,
          width: 2,
          fill: last < 0 ? "rgba(155,28,28,0.08)" : "rgba(30,107,52,0.08)",
          paths: window.uPlot.paths.stepped({ align: 1 }),
          points: { show: data.x.length < 60, size: 5 },
          value: (u, v) => formatNumber(v),
        },
      ],
      axes: [{}, { values: (u, vals) => vals.map(formatNumber), size: 70 }],
    };
  }

  function markRange(marks) {
    const framed = marks.filter((m) => FRAMED.indexOf(m.k) >= 0).map((m) => m.p);
    return (u, min, max) => {
      const values = framed.concat([min, max].filter((v) => v != null && isFinite(v)));
      if (!values.length) return [0, 1];
      const lo = Math.min.apply(null, values);
      const hi = Math.max.apply(null, values);
      const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.01 || 1;
      return [lo - pad, hi + pad];
    };
  }

  function drawMarks(u, marks) {
    const ctx = u.ctx;
    const box = u.bbox;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.lineWidth = ratio;
    marks.forEach((m) => {
      const style = MARKS[m.k];
      if (!style) return;
      const y = Math.round(u.valToPos(m.p, "y", true)) + 0.5;
      if (y < box.top || y > box.top + box.height) return;
      ctx.strokeStyle = style.color;
      ctx.setLineDash(style.dash.map((d) => d * ratio));
      ctx.beginPath();
      ctx.moveTo(box.left, y);
      ctx.lineTo(box.left + box.width, y);
      ctx.stroke();
    });
    ctx.restore();
  }

  function priceOptions(data, width) {
    const marks = data.marks || [];
    return {
      width: width,
      height: HEIGHT,
      scales: marks.length ? { x: { time: true }, y: { range: markRange(marks) } } : { x: { time: true } },
      hooks: marks.length ? { draw: [(u) => drawMarks(u, marks)] } : {},
      series: [
        {},
        { label: data.label || "Close", stroke: BLUE, width: 1.5, value: (u, v) => formatNumber(v) },
        { label: "Buy", stroke: GREEN, fill: GREEN, width: 0, paths: () => null, points: { show: true, size: 9, fill: GREEN } },
        { label: "Sell", stroke: RED, fill: RED, width: 0, paths: () => null, points: { show: true, size: 9, fill: RED } },
      ],
      axes: [{}, { values: (u, vals) => vals.map(formatNumber), size: 80 }],
    };
  }

  function draw(el) {
    if (el.tradebotsChart) return;
    const source = el.querySelector('script[type="application/json"]');
    if (!source) return;
    let data;
    try {
      data = JSON.parse(source.textContent);
    } catch (err) {
      return;
    }
    const width = Math.max(280, el.clientWidth || 600);
    let options;
    let series;
    if (data.kind === "price") {
      options = priceOptions(data, width);
      series = [data.x, data.y, data.buys, data.sells];
    } else {
      options = pnlOptions(data, width);
      series = [data.x, data.y];
    }
    const chart = new window.uPlot(options, series, el);
    el.tradebotsChart = chart;
    if (window.ResizeObserver) {
      const observer = new ResizeObserver(() => {
        const w = Math.max(280, el.clientWidth);
        if (w && Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: HEIGHT });
      });
      observer.observe(el);
      el.tradebotsObserver = observer;
    }
  }

  function destroy(el) {
    if (el.tradebotsObserver) el.tradebotsObserver.disconnect();
    if (el.tradebotsChart) el.tradebotsChart.destroy();
    el.tradebotsChart = null;
    el.tradebotsObserver = null;
  }

  function scan(root) {
    const found = [];
    if (root.matches && root.matches("[data-chart]")) found.push(root);
    if (root.querySelectorAll) found.push(...root.querySelectorAll("[data-chart]"));
    if (found.length) whenUPlot(() => found.forEach(draw));
  }

  document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const el = event.detail.elt;
    if (el && el.tradebotsChart) destroy(el);
  });

  window.tradebotsCharts = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => scan(document));
  } else {
    scan(document);
  }
})();
