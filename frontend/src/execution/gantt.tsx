/**
 * The Gantt timeline: one row per task run (children indented under their parent, loop values
 * shown), a bar from its start to its end — or to now while it runs — coloured by state.
 */

import { useEffect, useState } from "react";

import { type TaskRun, TERMINATED, tone } from "./store";

function ms(date: string | null | undefined): number | null {
  if (!date) return null;
  const t = Date.parse(date);
  return Number.isNaN(t) ? null : t;
}

export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.max(0, Math.round(milliseconds))}ms`;
  const s = milliseconds / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

function depthOf(run: TaskRun, byId: Map<string, TaskRun>): number {
  let depth = 0;
  let parent = run.parentTaskRunId ? byId.get(run.parentTaskRunId) : undefined;
  while (parent && depth < 20) {
    depth += 1;
    parent = parent.parentTaskRunId ? byId.get(parent.parentTaskRunId) : undefined;
  }
  return depth;
}

/** Runs in tree order: each parent followed by its children (by seq). */
export function treeOrder(runs: TaskRun[]): { run: TaskRun; depth: number }[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const children = new Map<string, TaskRun[]>();
  const roots: TaskRun[] = [];
  for (const run of runs) {
    const parent = run.parentTaskRunId && byId.has(run.parentTaskRunId) ? run.parentTaskRunId : null;
    if (parent) children.set(parent, [...(children.get(parent) ?? []), run]);
    else roots.push(run);
  }
  const out: { run: TaskRun; depth: number }[] = [];
  const visit = (run: TaskRun) => {
    out.push({ run, depth: depthOf(run, byId) });
    for (const child of children.get(run.id) ?? []) visit(child);
  };
  roots.forEach(visit);
  return out;
}

export function startOf(run: TaskRun): number | null {
  return ms(run.state.startDate) ?? ms(run.state.histories?.[0]?.date);
}

export function endOf(run: TaskRun): number | null {
  return TERMINATED.has(run.state.current) ? (ms(run.state.endDate) ?? ms(run.state.histories?.at(-1)?.date)) : null;
}

export function Gantt({ runs, running }: { runs: TaskRun[]; running: boolean }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [running]);
  const rows = treeOrder(runs);
  const starts = rows.map((r) => startOf(r.run)).filter((t): t is number => t !== null);
  if (!starts.length) return <p className="muted ex-empty">No task has started yet.</p>;
  const t0 = Math.min(...starts);
  const ends = rows.map((r) => endOf(r.run) ?? (running ? now : startOf(r.run) ?? t0));
  const t1 = Math.max(t0 + 1, ...ends);
  const span = t1 - t0;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="gantt" role="table" aria-label="Task run timeline">
      <div className="gantt-row gantt-axis" role="row">
        <span className="gantt-label" role="columnheader">Task</span>
        <span className="gantt-track" role="columnheader" aria-label="Time">
          {ticks.map((f) => (
            <span key={f} className="gantt-tick" style={{ left: `${f * 100}%` }}>{formatDuration(f * span)}</span>
          ))}
        </span>
        <span className="gantt-duration" role="columnheader">Duration</span>
      </div>
      {rows.map(({ run, depth }, i) => {
        const start = startOf(run);
        const end = ends[i];
        const left = start === null ? 0 : ((start - t0) / span) * 100;
        const width = start === null ? 0 : Math.max(0.4, ((end - start) / span) * 100);
        return (
          <div className="gantt-row" role="row" key={run.id} data-task-run={run.id} data-state={run.state.current}>
            <span className="gantt-label" role="cell" style={{ paddingLeft: `${depth * 14}px` }} title={run.taskId}>
              {run.taskId}
              {run.value !== null && <code className="gantt-value">{run.value}</code>}
            </span>
            <span className="gantt-track" role="cell">
              {start !== null && (
                <span className={`gantt-bar state-bar-${tone(run.state.current)}`}
                  style={{ left: `${left}%`, width: `${width}%` }}
                  title={`${run.taskId}${run.value !== null ? ` [${run.value}]` : ""}: ${run.state.current}`} />
              )}
            </span>
            <span className="gantt-duration" role="cell">
              {start === null ? "—" : formatDuration(end - start)}
              {run.attempts.length > 1 && <span className="muted"> ×{run.attempts.length}</span>}
            </span>
          </div>
        );
      })}
    </div>
  );
}
