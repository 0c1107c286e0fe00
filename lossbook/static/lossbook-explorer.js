/* lossbook explorers in the HTML book: sliders over frames computed when the book was built.
 *
 * Every explorer is a <div class="lossbook-explorer"> written by lossbook.explorer.Explorer.html():
 * its data sits in a <script type="application/json"> child (never executed). This script, shipped
 * once in the book's _static folder, reads it, builds the sliders and draws the selected frame as
 * SVG: lines, dots, bars, rules, text and images, with axes, ticks, a grid and a legend in the
 * colours of the book's matplotlib style. No library, no network, no kernel.
 */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var W = 380, H = 260;                                   // one panel's drawing units (scaled by CSS)
  var M = { left: 50, right: 12, top: 24, bottom: 40 };   // room for ticks, labels and the title
  var DASH = { "-": null, "--": "6 4", ":": "1.5 3", "-.": "6 3 1.5 3" };
  var INK = "#222222", AXIS = "#333333", GRID = "#d6d6d6";
  var counter = 0;

  function svg(name, attrs, parent) {
    var node = document.createElementNS(SVGNS, name);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
      });
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(name, attrs, parent) {
    var node = document.createElement(name);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  // -- ticks ----------------------------------------------------------------------------------------

  function niceStep(span, n) {
    var raw = span / Math.max(n, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / mag;
    return (f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10) * mag;
  }

  function linearTicks(lo, hi, n) {
    var step = niceStep(hi - lo, n), ticks = [];
    var first = Math.ceil(lo / step - 1e-9) * step;
    for (var v = first; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    var decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    if (Math.abs(step / Math.pow(10, -decimals) - 2.5) < 1e-6) decimals += 1;
    return ticks.map(function (v) { return { v: v, s: v.toFixed(Math.min(decimals, 10)).replace("-", "\u2212") }; });
  }

  function logTicks(lo, hi) {
    var ticks = [], a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
    var every = Math.max(1, Math.ceil((b - a + 1) / 6));
    for (var e = a; e <= b; e += every) {
      var label = e >= -2 && e <= 3 ? String(Number(Math.pow(10, e).toPrecision(1))) : "1e" + String(e).replace("-", "\u2212");
      ticks.push({ v: Math.pow(10, e), s: label });
    }
    return ticks;
  }

  // -- one panel ------------------------------------------------------------------------------------

  function Scale(layout) {
    var box = { x: M.left, y: M.top, w: W - M.left - M.right, h: H - M.top - M.bottom };
    var x0 = layout.xlim[0], x1 = layout.xlim[1];
    var ylog = !!layout.ylog;
    var y0 = ylog ? Math.log10(layout.ylim[0]) : layout.ylim[0];
    var y1 = ylog ? Math.log10(layout.ylim[1]) : layout.ylim[1];
    if (layout.aspect === "equal") {
      var k = Math.min(box.w / (x1 - x0), box.h / (y1 - y0));
      var w = (x1 - x0) * k, h = (y1 - y0) * k;
      box = { x: box.x + (box.w - w) / 2, y: box.y + (box.h - h) / 2, w: w, h: h };
    }
    this.box = box;
    this.x = function (v) { return box.x + (v - x0) / (x1 - x0) * box.w; };
    this.y = function (v) {
      var u = ylog ? (v > 0 ? Math.log10(v) : -Infinity) : v;
      return box.y + box.h - (u - y0) / (y1 - y0) * box.h;
    };
  }

  function path(xs, ys, sc) {
    var d = "", pen = false;
    for (var i = 0; i < xs.length; i++) {
      var x = xs[i], y = ys[i];
      if (x === null || y === null) { pen = false; continue; }
      var px = sc.x(x), py = sc.y(y);
      if (!isFinite(px) || !isFinite(py)) { pen = false; continue; }
      d += (pen ? "L" : "M") + px.toFixed(2) + " " + py.toFixed(2);
      pen = true;
    }
    return d;
  }

  function textNode(parent, x, y, s, attrs) {
    var node = svg("text", Object.assign({ x: x, y: y, fill: INK, "font-size": 10 }, attrs), parent);
    var lines = String(s).split("\n");
    if (lines.length === 1) { node.textContent = s; return node; }
    lines.forEach(function (line, i) {
      var span = svg("tspan", { x: x, dy: i === 0 ? 0 : "1.2em" }, node);
      span.textContent = line;
    });
    return node;
  }

  var RANK = { image: 0, bars: 1, hline: 1.5, vline: 1.5, line: 2, points: 2.5, text: 3 };

  function drawPanel(node, layout, items, data, uid) {
    while (node.firstChild) node.removeChild(node.firstChild);
    node.setAttribute("aria-label", layout.title || "panel");
    var sc = new Scale(layout), box = sc.box;
    svg("rect", { x: 0, y: 0, width: W, height: H, fill: "#ffffff" }, node);
    var clipId = "lbx-clip-" + uid;
    var clip = svg("clipPath", { id: clipId }, svg("defs", null, node));
    svg("rect", { x: box.x, y: box.y, width: box.w, height: box.h }, clip);

    var xticks = layout.ticks === false ? [] : linearTicks(layout.xlim[0], layout.xlim[1], 5);
    var yticks = layout.ticks === false ? [] :
      (layout.ylog ? logTicks(layout.ylim[0], layout.ylim[1]) : linearTicks(layout.ylim[0], layout.ylim[1], 5));
    var grid = svg("g", { class: "lbx-grid", stroke: GRID, "stroke-width": 0.6 }, node);
    if (layout.grid !== false) {
      xticks.forEach(function (t) { var x = sc.x(t.v); svg("line", { x1: x, x2: x, y1: box.y, y2: box.y + box.h }, grid); });
      yticks.forEach(function (t) { var y = sc.y(t.v); svg("line", { x1: box.x, x2: box.x + box.w, y1: y, y2: y }, grid); });
    }

    var plot = svg("g", { "clip-path": "url(#" + clipId + ")", class: "lbx-plot" }, node);
    var legend = [];
    var order = items.map(function (ref, i) { return { item: data.items[ref], i: i }; });
    order.sort(function (a, b) { return (RANK[a.item.t] - RANK[b.item.t]) || (a.i - b.i); });
    order.forEach(function (o) {
      var it = o.item, xs, ys;
      if (it.t === "line") {
        xs = data.arrays[it.x]; ys = data.arrays[it.y];
        svg("path", { class: "lbx-line", d: path(xs, ys, sc), fill: "none", stroke: it.c, "stroke-width": it.w,
          "stroke-dasharray": DASH[it.d], "stroke-linejoin": "round", "stroke-linecap": it.d === ":" ? "round" : null }, plot);
        if (it.m === "o") {
          for (var i = 0; i < xs.length; i++) {
            if (xs[i] !== null && ys[i] !== null && isFinite(sc.y(ys[i]))) svg("circle", { cx: sc.x(xs[i]), cy: sc.y(ys[i]), r: 1.8, fill: it.c }, plot);
          }
        }
      } else if (it.t === "points") {
        xs = data.arrays[it.x]; ys = data.arrays[it.y];
        var g = svg("g", { class: "lbx-points", fill: it.c }, plot);
        for (var j = 0; j < xs.length; j++) {
          if (xs[j] !== null && ys[j] !== null) svg("circle", { cx: sc.x(xs[j]).toFixed(2), cy: sc.y(ys[j]).toFixed(2), r: it.s / 2.2 }, g);
        }
      } else if (it.t === "bars") {
        xs = data.arrays[it.x]; var hs = data.arrays[it.h];
        var gb = svg("g", { class: "lbx-bars", fill: it.c }, plot);
        for (var b = 0; b < xs.length; b++) {
          if (xs[b] === null || hs[b] === null) continue;
          var left = sc.x(xs[b] - it.bw / 2), right = sc.x(xs[b] + it.bw / 2);
          var top = sc.y(Math.max(hs[b], 0)), bottom = sc.y(Math.min(hs[b], 0));
          svg("rect", { x: left.toFixed(2), y: top.toFixed(2), width: Math.max(right - left, 0).toFixed(2),
            height: Math.max(bottom - top, 0).toFixed(2) }, gb);
        }
      } else if (it.t === "vline" || it.t === "hline") {
        var a = it.t === "vline" ? { x1: sc.x(it.v), x2: sc.x(it.v), y1: box.y, y2: box.y + box.h }
                                 : { x1: box.x, x2: box.x + box.w, y1: sc.y(it.v), y2: sc.y(it.v) };
        svg("line", Object.assign(a, { class: "lbx-rule", stroke: it.c, "stroke-width": it.w, "stroke-dasharray": DASH[it.d] }), plot);
      } else if (it.t === "image") {
        var e = it.ext;
        var ix = Math.min(sc.x(e[0]), sc.x(e[1])), iy = Math.min(sc.y(e[2]), sc.y(e[3]));
        svg("image", { class: "lbx-image", href: it.src, x: ix, y: iy, width: Math.abs(sc.x(e[1]) - sc.x(e[0])),
          height: Math.abs(sc.y(e[3]) - sc.y(e[2])), preserveAspectRatio: "none",
          style: it.smooth ? null : "image-rendering: pixelated" }, plot);
      } else if (it.t === "text") {
        var tx = it.k === "axes" ? box.x + it.x * box.w : sc.x(it.x);
        var ty = it.k === "axes" ? box.y + (1 - it.y) * box.h : sc.y(it.y);
        var lines = String(it.s).split("\n").length;
        var shift = it.va === "top" ? 0.8 : it.va === "center" ? 0.35 - 0.6 * (lines - 1) : it.va === "bottom" ? -0.25 - 1.2 * (lines - 1) : 0;
        textNode(node, tx, ty, it.s, { class: "lbx-text", "font-size": it.fs, fill: it.c,
          "text-anchor": { left: "start", center: "middle", right: "end" }[it.ha], dy: shift + "em" });
      }
      if (it.l) legend.push(it);
    });

    // axes: left and bottom spines, ticks, labels, title
    var ax = svg("g", { class: "lbx-axes", stroke: AXIS, "stroke-width": 0.8 }, node);
    svg("line", { x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h }, ax);
    svg("line", { x1: box.x, x2: box.x, y1: box.y, y2: box.y + box.h }, ax);
    var labels = svg("g", { class: "lbx-ticklabels", fill: AXIS, "font-size": 9 }, node);
    xticks.forEach(function (t) {
      var x = sc.x(t.v);
      svg("line", { x1: x, x2: x, y1: box.y + box.h, y2: box.y + box.h + 3.5 }, ax);
      textNode(labels, x, box.y + box.h + 14, t.s, { "text-anchor": "middle", "font-size": 9, fill: AXIS });
    });
    yticks.forEach(function (t) {
      var y = sc.y(t.v);
      svg("line", { x1: box.x - 3.5, x2: box.x, y1: y, y2: y }, ax);
      textNode(labels, box.x - 6, y + 3, t.s, { "text-anchor": "end", "font-size": 9, fill: AXIS });
    });
    if (layout.xlabel) textNode(node, box.x + box.w / 2, H - 6, layout.xlabel, { "text-anchor": "middle", "font-size": 10 });
    if (layout.ylabel) textNode(node, 12, box.y + box.h / 2, layout.ylabel,
      { "text-anchor": "middle", "font-size": 10, transform: "rotate(-90 12 " + (box.y + box.h / 2) + ")" });
    if (layout.title) textNode(node, box.x + box.w / 2, 15, layout.title, { class: "lbx-title", "text-anchor": "middle", "font-size": 11 });
    if (legend.length && layout.legend) drawLegend(node, legend, layout.legend, box);
  }

  function drawLegend(node, entries, loc, box) {
    var rowH = 13, pad = 5, sample = 18;
    var width = pad * 3 + sample + Math.max.apply(null, entries.map(function (e) { return e.l.length; })) * 5.2;
    var height = pad * 2 + rowH * entries.length - 3;
    var right = loc.indexOf("right") >= 0, left = loc.indexOf("left") >= 0;
    var x = right ? box.x + box.w - width - 4 : left ? box.x + 4 : box.x + (box.w - width) / 2;
    var y = loc.indexOf("upper") === 0 ? box.y + 4 : loc.indexOf("lower") === 0 ? box.y + box.h - height - 4 : box.y + (box.h - height) / 2;
    var g = svg("g", { class: "lbx-legend" }, node);
    svg("rect", { x: x, y: y, width: width, height: height, fill: "#ffffff", "fill-opacity": 0.9, stroke: "#cccccc", rx: 2 }, g);
    entries.forEach(function (e, i) {
      var cy = y + pad + rowH * i + rowH / 2 - 1.5;
      if (e.t === "line") svg("line", { x1: x + pad, x2: x + pad + sample, y1: cy, y2: cy, stroke: e.c, "stroke-width": e.w, "stroke-dasharray": DASH[e.d] }, g);
      else if (e.t === "bars") svg("rect", { x: x + pad + 4, y: cy - 4, width: 10, height: 8, fill: e.c }, g);
      else svg("circle", { cx: x + pad + sample / 2, cy: cy, r: 3, fill: e.c }, g);
      textNode(g, x + pad * 2 + sample, cy + 3, e.l, { "font-size": 8.5 });
    });
  }

  // -- one explorer ---------------------------------------------------------------------------------

  function Explorer(root, data) {
    var id = ++counter;
    root.classList.add("lbx-ready");
    var controls = html("div", { class: "lbx-controls" }, root);
    var figure = html("div", { class: "lbx-figure" }, root);
    figure.style.setProperty("--lbx-ncols", String(data.ncols || 1));
    var npanels = data.frames[0].length;
    var panels = [];
    for (var k = 0; k < npanels; k++) {
      panels.push(svg("svg", { class: "lbx-panel", viewBox: "0 0 " + W + " " + H, role: "img",
        "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif" }, figure));
    }
    var inputs = data.params.map(function (p, i) {
      var wrap = html("label", { class: "lbx-control" }, controls);
      html("span", { class: "lbx-name", text: p.label }, wrap);
      var input;
      if (p.kind === "checkbox") {
        input = html("input", { type: "checkbox", "data-param": p.name }, wrap);
        input.checked = p.start === p.checked;
      } else {
        input = html("input", { type: "range", min: 0, max: p.values.length - 1, step: 1, value: p.start,
          "data-param": p.name, "aria-label": p.label }, wrap);
        input.value = String(p.start);
      }
      var out = html("output", { class: "lbx-value" }, wrap);
      function index() {
        return p.kind === "checkbox" ? (input.checked ? p.checked : 1 - p.checked) : parseInt(input.value, 10);
      }
      function show() { out.textContent = p.kind === "checkbox" ? "" : p.values[index()]; }
      show();
      input.addEventListener("input", function () { show(); draw(); });
      input.addEventListener("change", function () { show(); draw(); });
      return { index: index, size: p.values.length, param: i };
    });
    function draw() {
      var f = 0;
      inputs.forEach(function (c) { f = f * c.size + c.index(); });
      root.setAttribute("data-frame", String(f));
      data.frames[f].forEach(function (panel, k) {
        drawPanel(panels[k], data.layouts[panel[0]], panel[1], data, id + "-" + k);
      });
    }
    draw();
  }

  function init() {
    var roots = document.querySelectorAll("div.lossbook-explorer:not(.lbx-ready)");
    Array.prototype.forEach.call(roots, function (root) {
      var script = root.querySelector('script[type="application/json"]');
      if (!script) return;
      try {
        Explorer(root, JSON.parse(script.textContent));
      } catch (err) {
        root.classList.add("lbx-failed");
        console.error("lossbook explorer:", err);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
