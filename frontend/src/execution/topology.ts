/**
 * Live state on the topology: each task node gets the state of its task runs as a CSS class and
 * `data-state`, plus a `×n` badge and the loop values when the task ran several times.
 *
 * The state stays out of the graph data (EDITOR.md §3a, Windmill #10554): a state tick only
 * touches classes on existing SVG nodes, never relays out the graph.
 */

import { type TaskRun, tone } from "./store";
import type { NodeTask } from "./unroll";

const SVG_NS = "http://www.w3.org/2000/svg";

/** The state a node shows for several runs of its task: the most urgent one wins. */
const URGENCY = ["RUNNING", "KILLING", "RETRYING", "RESTARTED", "PAUSED", "QUEUED", "CREATED", "FAILED",
  "KILLED", "WARNING", "CANCELLED", "SUCCESS", "SKIPPED", "RETRIED"];

export function aggregateState(runs: TaskRun[]): string {
  let best = "";
  let rank = Number.POSITIVE_INFINITY;
  for (const run of runs) {
    const r = URGENCY.indexOf(run.state.current);
    const at = r < 0 ? URGENCY.length : r;
    if (at < rank) {
      rank = at;
      best = run.state.current;
    }
  }
  return best;
}

/** Apply the runs' states to the drawn nodes in `scene`. */
export function decorate(scene: SVGGElement, tasks: Map<string, NodeTask>, runs: TaskRun[]): void {
  const byTask = new Map<string, TaskRun[]>();
  for (const run of runs) byTask.set(run.taskId, [...(byTask.get(run.taskId) ?? []), run]);
  for (const g of scene.querySelectorAll<SVGGElement>("g.wt-node[data-uid]")) {
    const task = tasks.get(g.dataset.uid ?? "");
    if (!task) continue;
    const all = byTask.get(task.taskId) ?? [];
    const mine = task.value === null ? all : all.filter((r) => r.value === task.value);
    if (task.value !== null) g.dataset.value = task.value;
    const state = aggregateState(mine);
    const previous = g.dataset.state ?? "";
    if (previous === state && g.dataset.runs === String(mine.length)) continue;
    if (previous) g.classList.remove(`wt-live--${tone(previous)}`);
    g.dataset.state = state;
    g.dataset.runs = String(mine.length);
    if (state) g.classList.add(`wt-live--${tone(state)}`);
    g.classList.toggle("wt-live", !!state);
    let badge = g.querySelector<SVGTextElement>("text.wt-live-badge");
    const box = g.querySelector<SVGRectElement>("rect.wt-node-box");
    if (!badge && box) {
      badge = document.createElementNS(SVG_NS, "text");
      badge.setAttribute("class", "wt-live-badge");
      badge.setAttribute("x", String(Number(box.getAttribute("width")) - 8));
      badge.setAttribute("y", "14");
      badge.setAttribute("text-anchor", "end");
      g.append(badge);
    }
    if (badge) badge.textContent = mine.length > 1 ? `×${mine.length}` : state ? state.charAt(0) + state.slice(1).toLowerCase() : "";
    const title = g.querySelector("title");
    if (title) {
      const base = title.textContent?.split("\n— runs —")[0] ?? "";
      const values = mine.filter((r) => r.value !== null).map((r) => `${r.value}: ${r.state.current}`);
      title.textContent = state
        ? `${base}\n— runs —\n${values.length ? values.slice(0, 30).join("\n") : state}${values.length > 30 ? "\n…" : ""}`
        : base;
    }
  }
}
