/**
 * A stacked bar chart of execution counts per state, in SVG built with DOM calls (no markup
 * strings). Each bar links to the executions list of that period; the same numbers are in a
 * visually hidden table for screen readers.
 */

export interface Bucket {
  startDate: string;
  groupBy: string;
  executionCounts: Record<string, number>;
  total: number;
}

const SVG_NS = "http://www.w3.org/2000/svg";
/** Drawing order, bottom to top, and legend order. */
export const STATES = ["SUCCESS", "WARNING", "FAILED", "KILLED", "RUNNING", "PAUSED", "QUEUED", "CREATED", "CANCELLED"];
const TONE: Record<string, string> = {
  SUCCESS: "success", WARNING: "warn", FAILED: "danger", KILLED: "dark", RUNNING: "running", PAUSED: "paused",
  QUEUED: "muted", CREATED: "muted", CANCELLED: "muted",
};

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function label(date: Date, groupBy: string): string {
  return groupBy === "hour"
    ? `${String(date.getHours()).padStart(2, "0")}:00`
    : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** A round axis maximum: 1, 2, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

export function drawChart(el: HTMLElement, buckets: Bucket[], groupBy: string, listUrl: string, namespace: string, flowId: string): void {
  const width = 1000;
  const height = 260;
  const pad = { left: 40, right: 10, top: 10, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.total)));
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, Math.min(38, slot * 0.7));
  const totals: Record<string, number> = {};
  for (const b of buckets) for (const [s, n] of Object.entries(b.executionCounts)) totals[s] = (totals[s] ?? 0) + n;
  const all = Object.values(totals).reduce((a, b) => a + b, 0);

  const summary = document.createElement("p");
  summary.className = "dash-summary";
  summary.textContent = `${all} execution${all === 1 ? "" : "s"}` +
    (all ? `: ${STATES.filter((s) => totals[s]).map((s) => `${totals[s]} ${s.toLowerCase()}`).join(", ")}` : "");

  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "dash-chart", role: "img",
    "aria-label": `Executions per ${groupBy}, stacked by state` });
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + plotH - (plotH * i) / 4;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "dash-grid" }));
    const t = svg("text", { x: pad.left - 6, y: y + 4, class: "dash-axis", "text-anchor": "end" });
    t.textContent = String((max * i) / 4);
    chart.append(t);
  }
  const every = Math.ceil(buckets.length / 12);
  buckets.forEach((b, i) => {
    const x = pad.left + slot * i + (slot - barW) / 2;
    const start = new Date(b.startDate);
    const end = new Date(start.getTime() + (groupBy === "hour" ? 3_600_000 : 86_400_000));
    const query = new URLSearchParams();
    if (namespace) query.set("namespace", namespace);
    if (flowId) query.set("flowId", flowId);
    const link = svg("a", { href: `${listUrl}${query.size ? `?${query}` : ""}`, class: "dash-bar" });
    const title = svg("title", {});
    title.textContent = `${start.toLocaleString()} – ${end.toLocaleString()}: ${b.total} execution(s)` +
      STATES.filter((s) => b.executionCounts[s]).map((s) => `\n${s}: ${b.executionCounts[s]}`).join("");
    link.append(title);
    let y = pad.top + plotH;
    for (const state of STATES) {
      const n = b.executionCounts[state] ?? 0;
      if (!n) continue;
      const h = (plotH * n) / max;
      y -= h;
      link.append(svg("rect", { x, y, width: barW, height: Math.max(1, h), class: `state-bar-${TONE[state] ?? "muted"}`, "data-state": state }));
    }
    if (b.total === 0) link.append(svg("rect", { x, y: pad.top + plotH - 1, width: barW, height: 1, class: "dash-empty" }));
    chart.append(link);
    if (i % every === 0) {
      const t = svg("text", { x: x + barW / 2, y: height - 8, class: "dash-axis", "text-anchor": "middle" });
      t.textContent = label(start, groupBy);
      chart.append(t);
    }
  });

  const legend = document.createElement("ul");
  legend.className = "dash-legend";
  for (const state of STATES.filter((s) => totals[s])) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `dash-swatch state-bar-${TONE[state] ?? "muted"}`;
    li.append(swatch, document.createTextNode(`${state} ${totals[state]}`));
    legend.append(li);
  }

  const table = document.createElement("table");
  table.className = "sr-only";
  const caption = table.createCaption();
  caption.textContent = "Executions per period and state";
  const head = table.createTHead().insertRow();
  for (const h of ["Period", "Total", ...STATES]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const b of buckets) {
    const row = body.insertRow();
    for (const v of [label(new Date(b.startDate), groupBy), String(b.total), ...STATES.map((s) => String(b.executionCounts[s] ?? 0))]) {
      row.insertCell().textContent = v;
    }
  }
  el.replaceChildren(summary, chart, legend, table);
}
