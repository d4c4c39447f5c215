/* rerouting report: sortable tables and charts drawn from one shared data blob.
 * Runs after the inlined vega-embed bundle; needs no network. */
(() => {
  "use strict";
  const root = document.documentElement;

  // ---------------------------------------------------------------- sorting
  function cellKey(row, i, numeric) {
    const cell = row.cells[i];
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    return raw === "" ? NaN : Number(raw);
  }

  function sortTable(table, i, th) {
    const numeric = th.dataset.type === "num";
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    for (const h of th.parentElement.cells) h.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const dir = ascending ? 1 : -1;
    rows.sort((a, b) => {
      const x = cellKey(a, i, numeric);
      const y = cellKey(b, i, numeric);
      if (numeric) {
        if (Number.isNaN(x) || Number.isNaN(y)) {
          return Number.isNaN(x) - Number.isNaN(y); // blanks last either way
        }
        return (x - y) * dir;
      }
      return x.localeCompare(y) * dir;
    });
    body.append(...rows);
  }

  for (const table of document.querySelectorAll("table.rr-sortable")) {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) continue;
    Array.from(head.cells).forEach((th, i) => {
      th.tabIndex = 0;
      th.title = "Sort by this column";
      const go = () => sortTable(table, i, th);
      th.addEventListener("click", go);
      th.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          go();
        }
      });
    });
  }

  // ----------------------------------------------------------------- charts
  const blob = document.getElementById("rr-data");
  if (!blob) {
    root.dataset.rrStatus = "done";
    return;
  }
  const DATA = JSON.parse(blob.textContent);

  // Replace "$rr:..." placeholder strings in a template with route values.
  function fill(node, vars) {
    if (typeof node === "string") {
      return Object.prototype.hasOwnProperty.call(vars, node) ? vars[node] : node;
    }
    if (Array.isArray(node)) return node.map((n) => fill(n, vars));
    if (node && typeof node === "object") {
      const out = {};
      for (const [k, v] of Object.entries(node)) out[k] = fill(v, vars);
      return out;
    }
    return node;
  }

  function legRows(route) {
    const s = DATA.legs[String(route.id)];
    const rows = [];
    if (!s) return rows;
    for (let i = 0; i < s.p.length; i++) {
      const leg = DATA.legNames[s.l[i]];
      const v = s.v[i];
      const k = s.k[i];
      rows.push({
        period: s.p[i],
        leg: leg,
        label: route.labels[leg],
        value: v,
        kg: k,
        uv: v !== null && k !== null && k > 0 && Number.isFinite(v / k) ? v / k : null,
        provenance: s.s[i] === null ? "" : DATA.provenance[s.s[i]],
      });
    }
    return rows;
  }

  // A panel whose field has no finite value (e.g. no net weights) keeps its
  // event and baseline marks but drops its line: an empty line layer makes Vega
  // warn "Infinite extent" and draws an axis from nothing.
  function dropEmptyLines(spec, rows) {
    for (const panel of spec.hconcat || []) {
      const keep = (layer) => {
        const y = layer.encoding && layer.encoding.y;
        if (!layer.data || layer.data.name !== "legs" || !y || !y.field) return true;
        return rows.some((r) => Number.isFinite(r[y.field]));
      };
      const layers = panel.layer || [];
      if (layers.every(keep)) continue;
      panel.layer = layers.filter(keep);
      panel.title = String(panel.title) + ": no data";
    }
    return spec;
  }

  function buildSpec(kind, route) {
    if (kind === "legs") {
      const domain = DATA.legNames.map((leg) => route.labels[leg]);
      const spec = fill(DATA.templates.legs, { "$rr:legDomain": domain });
      const rows = legRows(route);
      // Keep the template's own inline datasets (event, baseline window).
      spec.datasets = Object.assign({}, spec.datasets, { legs: rows });
      return dropEmptyLines(spec, rows);
    }
    if (kind === "contrib") {
      const spec = fill(DATA.templates.contrib, {});
      spec.datasets = Object.assign({}, spec.datasets, {
        contrib: route.contrib.map(([feature, contrib]) => ({ feature, contrib })),
      });
      return spec;
    }
    throw new Error("unknown chart kind " + kind);
  }

  const embedOptions = {
    renderer: "svg",
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: "light" },
  };

  async function drawAll() {
    const routes = new Map(DATA.routes.map((r) => [String(r.id), r]));
    let drawn = 0;
    let failed = 0;
    for (const el of document.querySelectorAll("[data-rr-chart]")) {
      const route = routes.get(el.dataset.rrRoute);
      try {
        if (!route) throw new Error("no data for route " + el.dataset.rrRoute);
        await window.vegaEmbed(el, buildSpec(el.dataset.rrChart, route), embedOptions);
        drawn += 1;
      } catch (err) {
        failed += 1;
        el.textContent = "This chart could not be drawn: " + (err && err.message);
        el.classList.add("rr-chart-error");
        console.error("rerouting report:", err);
      }
    }
    root.dataset.rrCharts = String(drawn);
    root.dataset.rrFailed = String(failed);
    root.dataset.rrStatus = "done";
  }

  if (typeof window.vegaEmbed !== "function") {
    console.error("rerouting report: the chart library did not load");
    root.dataset.rrStatus = "done";
    return;
  }
  drawAll();
})();
