/**
 * Per-flow trends on the dashboard: average task run duration and execution failure rate of the
 * busiest flows over time, drawn with uPlot (bundled by Vite) from
 * `/api/v1/stats/flows/timeline`. The same numbers are in a visually hidden table per chart for
 * screen readers, and a flow with no ended execution in a period has a gap, not a zero.
 */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface FlowTrend {
  namespace: string;
  flowId: string;
  executions: number;
  ended: number[];
  failed: number[];
  failureRate: (number | null)[];
  taskRuns: number[];
  avgTaskSeconds: (number | null)[];
  maxTaskSeconds: (number | null)[];
}

export interface Timeline {
  groupBy: "day" | "hour";
  buckets: string[];
  flowCount: number;
  flows: FlowTrend[];
  truncated: boolean;
}

/** Distinct hues that read on light and dark backgrounds. */
const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
  "#ea580c", "#4f46e5"];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;  // dark mode sets them on body
}

function seconds(value: number): string {
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

function percent(value: number): string {
  return `${Math.round(value * 1000) / 10}%`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function srTable(caption: string, timeline: Timeline, values: (f: FlowTrend) => (number | null)[],
                 fmt: (v: number) => string): HTMLTableElement {
  const table = el("table", { class: "sr-only trend-table" });
  table.append(el("caption", {}, caption));
  const head = el("tr");
  head.append(el("th", { scope: "col" }, "Period"));
  for (const flow of timeline.flows) head.append(el("th", { scope: "col" }, `${flow.namespace}.${flow.flowId}`));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  timeline.buckets.forEach((bucket, i) => {
    const row = el("tr");
    row.append(el("th", { scope: "row" }, new Date(bucket).toLocaleString()));
    for (const flow of timeline.flows) {
      const v = values(flow)[i];
      row.append(el("td", {}, v === null || v === undefined ? "—" : fmt(v)));
    }
    body.append(row);
  });
  table.append(body);
  return table;
}

interface ChartSpec {
  title: string;
  testId: string;
  values: (f: FlowTrend) => (number | null)[];
  fmt: (v: number) => string;
  range?: [number, number];
}

function drawOne(host: HTMLElement, timeline: Timeline, spec: ChartSpec): uPlot {
  const text = cssVar("--text-muted", "#5b6678");
  const grid = cssVar("--border", "#e3e8ef");
  const xs = timeline.buckets.map((b) => Date.parse(b) / 1000);
  const data: uPlot.AlignedData = [xs, ...timeline.flows.map((f) => spec.values(f).map((v) => v ?? null))];
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const options: uPlot.Options = {
    width: Math.max(320, host.clientWidth),
    height: 240,
    scales: { x: { time: true }, y: spec.range ? { range: spec.range } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axis, values: timeline.groupBy === "hour" ? "{HH}:00" : "{MMM} {D}" },
      { ...axis, size: 64, values: (_u, ticks) => ticks.map((t) => spec.fmt(t)) },
    ],
    series: [
      { label: timeline.groupBy === "hour" ? "Hour" : "Day", value: timeline.groupBy === "hour" ? "{MMM} {D} {HH}:00" : "{MMM} {D}" },
      ...timeline.flows.map((f, i) => ({
        label: `${f.namespace}.${f.flowId}`,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: true, size: 6, fill: PALETTE[i % PALETTE.length] },
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : spec.fmt(v)),
      })),
    ],
    legend: { show: true },
  };
  return new uPlot(options, data, host);
}

const CHARTS: ChartSpec[] = [
  { title: "Average task run duration per flow", testId: "trend-durations", values: (f) => f.avgTaskSeconds, fmt: seconds },
  { title: "Failure rate per flow (failed ÷ ended executions)", testId: "trend-failures", values: (f) => f.failureRate,
    fmt: percent, range: [0, 1] },
];

export function drawTrends(el_: HTMLElement, timeline: Timeline): void {
  for (const old of el_.querySelectorAll<HTMLElement>("[data-trend]")) {
    (old as HTMLElement & { _plot?: uPlot })._plot?.destroy();
  }
  el_.replaceChildren();
  if (timeline.flows.length === 0) {
    el_.append(el("p", { class: "muted" }, "No executions in this period."));
    return;
  }
  const note = timeline.flowCount > timeline.flows.length
    ? `The ${timeline.flows.length} busiest of ${timeline.flowCount} flows.`
    : `${timeline.flowCount} flow${timeline.flowCount === 1 ? "" : "s"}.`;
  el_.append(el("p", { class: "dash-summary muted" }, note + (timeline.truncated ? " Durations from the newest task runs only." : "")));
  const grid = el("div", { class: "trend-grid" });
  el_.append(grid);
  for (const spec of CHARTS) {
    const figure = el("figure", { class: "trend", "data-testid": spec.testId });
    figure.append(el("figcaption", { class: "trend-title" }, spec.title));
    const host = el("div", { class: "trend-plot", "data-trend": spec.testId });
    figure.append(host, srTable(spec.title, timeline, spec.values, spec.fmt));
    grid.append(figure);
    const plot = drawOne(host, timeline, spec);
    (host as HTMLElement & { _plot?: uPlot })._plot = plot;
    new ResizeObserver(() => plot.setSize({ width: Math.max(320, host.clientWidth), height: 240 })).observe(host);
  }
}
