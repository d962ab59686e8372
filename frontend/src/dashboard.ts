/**
 * Island `dashboard`: executions per state over time as a stacked bar chart (plain SVG, no chart
 * library), with a summary and a table for screen readers. It re-reads the aggregate when the
 * list stream announces a change (at most every 2 s).
 * Island `flow-trends`: task run durations and failure rates per flow (uPlot), read once.
 */

import "./execution/live.css";
import "./dashboard/dashboard.css";
import { api } from "./lib/api";
import { mountIslands } from "./lib/islands";
import { listStream } from "./lib/live";
import { type Bucket, drawChart } from "./dashboard/chart";
import { drawTrends, type Timeline } from "./dashboard/trends";

interface DashboardProps {
  namespace: string;
  flowId: string;
  groupBy: "day" | "hour";
  buckets: number;
  statsUrl: string;
  trendsUrl: string;
  executionsUrl: string;
}

mountIslands<DashboardProps>("dashboard", (el, props) => {
  const step = props.groupBy === "day" ? 86_400_000 : 3_600_000;
  const load = async () => {
    const end = new Date();
    const start = new Date(end.getTime() - step * (props.buckets - 1));
    const query = new URLSearchParams({ groupBy: props.groupBy, startDate: start.toISOString(), endDate: end.toISOString() });
    if (props.namespace) query.set("namespace", props.namespace);
    if (props.flowId) query.set("flowId", props.flowId);
    try {
      const { data } = await api.get<Bucket[]>(`${props.statsUrl}?${query}`);
      drawChart(el, data, props.groupBy, props.executionsUrl, props.namespace, props.flowId);
    } catch (err) {
      el.textContent = `The statistics could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  void load();
  let timer = 0;
  const status = document.querySelector<HTMLElement>("[data-live-status]");
  listStream(props, status, (frame) => {
    if (frame.type !== "execution" || timer) return;
    timer = window.setTimeout(() => {
      timer = 0;
      void load();
    }, 2000);
  });
});

/** Island `flow-trends`: task durations and failure rates per flow (dashboard/trends.ts). */
mountIslands<DashboardProps>("flow-trends", (el, props) => {
  const step = props.groupBy === "day" ? 86_400_000 : 3_600_000;
  const load = async () => {
    const end = new Date();
    const start = new Date(end.getTime() - step * (props.buckets - 1));
    const query = new URLSearchParams({ groupBy: props.groupBy, startDate: start.toISOString(), endDate: end.toISOString() });
    if (props.namespace) query.set("namespace", props.namespace);
    if (props.flowId) query.set("flowId", props.flowId);
    try {
      const { data } = await api.get<Timeline>(`${props.trendsUrl}?${query}`);
      drawTrends(el, data);
    } catch (err) {
      el.textContent = `The flow trends could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  void load();
});
