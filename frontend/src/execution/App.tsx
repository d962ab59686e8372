/**
 * The execution page island: live topology, Gantt, logs, outputs and inputs, plus the actions
 * (rendered into the page header through a portal), all fed by one WebSocket.
 */

import { type ReactNode, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { createPortal } from "react-dom";

import { api } from "../lib/api";
import { type FlowGraph, isFlowGraph } from "../topology/graph";
import { TopologyView } from "../topology/render";
import { Actions } from "./actions";
import { formatDuration, Gantt, treeOrder } from "./gantt";
import { LogViewer } from "./logs";
import { OutputFiles } from "./files";
import { type ExecutionStore, type TaskRun, tone } from "./store";
import { decorate } from "./topology";
import { type NodeTask, unroll, unrollKey } from "./unroll";

export interface ExecutionProps {
  id: string;
  canExecute: boolean;
  hasResumeForm: boolean;
  urls: { graph: string; logsDownload: string; execution: string };
}

const TABS = [
  ["topology", "Topology"],
  ["gantt", "Gantt"],
  ["logs", "Logs"],
  ["outputs", "Outputs"],
  ["inputs", "Inputs & labels"],
] as const;
type Tab = (typeof TABS)[number][0];

function initialTab(): Tab {
  const hash = location.hash.slice(1);
  return (TABS.find(([key]) => key === hash)?.[0] ?? "topology") as Tab;
}

/** The execution whose files `kestra:///…` values point to (one page shows one execution). */
let fileBase = "";

function Json({ value }: { value: unknown }) {
  if (typeof value === "string" && value.startsWith("kestra:///") && fileBase) {
    return <pre className="value"><a href={`${fileBase}?path=${encodeURIComponent(value)}`} download>{value}</a></pre>;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return <pre className="value">{text}</pre>;
}

function KeyValues({ data, empty }: { data: Record<string, unknown> | null | undefined; empty: string }) {
  const entries = Object.entries(data ?? {});
  if (!entries.length) return <p className="muted ex-empty">{empty}</p>;
  return (
    <table className="table kv-table">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}><th scope="row">{k}</th><td><Json value={v} /></td></tr>
        ))}
      </tbody>
    </table>
  );
}

function LogsPane({ store, downloadUrl, viewerRef }: {
  store: ExecutionStore; downloadUrl: string; viewerRef: React.MutableRefObject<LogViewer | null>;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (host.current && !viewerRef.current) viewerRef.current = new LogViewer(host.current, store, downloadUrl);
  }, [store, downloadUrl, viewerRef]);
  return <div ref={host} className="ex-logs" />;
}

function OutputsPane({ runs, outputs, terminated }: { runs: TaskRun[]; outputs: Record<string, unknown> | null; terminated: boolean }) {
  const withOutputs = treeOrder(runs).filter(({ run }) => run.outputs && Object.keys(run.outputs).length);
  // The Value column (a loop iteration's value) only when some row has one.
  const values = withOutputs.some(({ run }) => run.value !== null && run.value !== undefined);
  return (
    <div className="ex-outputs">
      <h3>Flow outputs</h3>
      <KeyValues data={outputs} empty={terminated ? "No flow outputs." : "Flow outputs appear when the execution ends."} />
      <h3>Task outputs</h3>
      {withOutputs.length ? (
        <table className="table ex-task-outputs">
          <thead><tr><th scope="col">Task</th>{values && <th scope="col">Value</th>}<th scope="col">State</th><th scope="col">Outputs</th></tr></thead>
          <tbody>
            {withOutputs.map(({ run, depth }) => (
              <tr key={run.id} data-task-run={run.id}>
                <td style={{ paddingLeft: `${12 + depth * 14}px` }}><span className="task-id">{run.taskId}</span></td>
                {values && <td>{run.value !== null && <code>{run.value}</code>}</td>}
                <td><span className={`state state-${tone(run.state.current)}`}>{run.state.current}</span></td>
                <td><Json value={run.outputs} /><OutputFiles base={fileBase} outputs={run.outputs} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted ex-empty">No task has outputs yet.</p>}
    </div>
  );
}

function LogCount({ store }: { store: ExecutionStore }) {
  return <span className="count">{useSyncExternalStore(store.subscribeLogCount, store.getLogCount)}</span>;
}

function Panel({ id, active, built, children }: { id: Tab; active: Tab; built: boolean; children: ReactNode }) {
  return (
    <section id={`ex-panel-${id}`} role="tabpanel" aria-labelledby={`ex-tab-${id}`} hidden={active !== id} className="ex-panel">
      {built ? children : null}
    </section>
  );
}

export function ExecutionApp({ store, props, actionsSlot, stateChip, graphUrl }: {
  store: ExecutionStore; props: ExecutionProps; actionsSlot: HTMLElement | null; stateChip: HTMLElement | null; graphUrl: string;
}) {
  useSyncExternalStore(store.subscribe, store.getVersion);
  fileBase = `/api/v1/executions/${encodeURIComponent(props.id)}/file`;
  const [tab, setTab] = useState<Tab>(initialTab);
  // A tab's content is built the first time it is shown (then kept): a page opened on its logs
  // does not also build a 200-row Gantt, an outputs table and an SVG topology it does not show.
  const [visited, setVisited] = useState<ReadonlySet<Tab>>(() => new Set([tab]));
  const viewer = useRef<LogViewer | null>(null);
  const execution = store.execution;
  const state = execution?.state.current ?? "";

  useEffect(() => {
    if (!stateChip || !state) return;
    stateChip.textContent = state;
    stateChip.dataset.executionState = state;
    stateChip.className = stateChip.className.replace(/\bstate-(?!lg\b)[a-z]+\b/g, "").trim() + ` state-${tone(state)}`;
  }, [stateChip, state]);

  const startDate = execution?.state.startDate ?? null;
  const endDate = store.terminated ? (execution?.state.endDate ?? null) : null;
  useEffect(() => {
    const slot = document.querySelector<HTMLElement>("[data-execution-duration]");
    const start = startDate ? Date.parse(startDate) : Number.NaN;
    if (!slot || Number.isNaN(start)) return;
    const show = () => {
      const end = endDate ? Date.parse(endDate) : Date.now();
      slot.textContent = formatDuration(Math.max(0, end - start));
    };
    show();
    if (endDate) return;
    const timer = window.setInterval(show, 1000);
    return () => window.clearInterval(timer);
  }, [startDate, endDate]);

  const choose = (next: Tab) => {
    setTab(next);
    setVisited((v) => (v.has(next) ? v : new Set([...v, next])));
    history.replaceState(null, "", `#${next}`);
  };
  const showTask = (taskId: string) => {
    viewer.current?.setFilter({ taskId });
    choose("logs");
  };
  const conn = store.connection;

  return (
    <div className="ex-live">
      {actionsSlot && execution && createPortal(
        <Actions execution={execution} canExecute={props.canExecute} hasResumeForm={props.hasResumeForm}
          executionUrl={(id) => props.urls.execution.replace("__ID__", encodeURIComponent(id))} />, actionsSlot)}
      <div className="ex-tabbar">
        <div role="tablist" aria-label="Execution views" className="ex-tabs">
          {TABS.map(([key, label]) => (
            <button key={key} type="button" role="tab" id={`ex-tab-${key}`} aria-controls={`ex-panel-${key}`}
              aria-selected={tab === key} className={`ex-tab${tab === key ? " active" : ""}`} onClick={() => choose(key)}>
              {label}{key === "logs" && <LogCount store={store} />}
            </button>
          ))}
        </div>
        <span className={`ex-conn ex-conn--${conn.status}`} role="status" data-status={conn.status} title={conn.detail ?? ""}>
          {conn.status === "open" ? "Live" : conn.status === "refused" ? (conn.detail ?? "Refused") : conn.status === "closed" ? "Closed" : conn.status === "connecting" ? "Connecting…" : "Reconnecting…"}
        </span>
      </div>
      <Panel id="topology" active={tab} built={visited.has("topology")}>
        <TopologyPane store={store} graphUrl={graphUrl} runs={store.runs} onTask={showTask} />
      </Panel>
      <Panel id="gantt" active={tab} built={visited.has("gantt")}><Gantt runs={store.runs} running={!store.terminated} /></Panel>
      <Panel id="logs" active={tab} built><LogsPane store={store} downloadUrl={props.urls.logsDownload} viewerRef={viewer} /></Panel>
      <Panel id="outputs" active={tab} built={visited.has("outputs")}>
        <OutputsPane runs={store.runs} outputs={execution?.outputs ?? null} terminated={store.terminated} />
      </Panel>
      <Panel id="inputs" active={tab} built={visited.has("inputs")}>
        <h3>Inputs</h3>
        <KeyValues data={execution?.inputs} empty="No inputs." />
        <h3>Labels</h3>
        {execution?.labels?.length ? (
          <ul className="labels ex-labels">
            {execution.labels.map((l) => <li key={`${l.key}=${l.value}`} className="label"><span className="label-key">{l.key}</span><span className="label-value">{l.value}</span></li>)}
          </ul>
        ) : <p className="muted ex-empty">No labels.</p>}
      </Panel>
    </div>
  );
}

/**
 * The topology of the execution's flow revision, coloured by live task-run state. The graph is
 * fetched once; state changes only restyle the drawn nodes (execution/topology.ts).
 */
function TopologyPane({ store, graphUrl, runs, onTask }: {
  store: ExecutionStore; graphUrl: string; runs: TaskRun[]; onTask: (taskId: string) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const drawn = useRef<{ view: TopologyView | null; base: FlowGraph | null; key: string; tasks: Map<string, NodeTask>; scene: SVGGElement | null }>(
    { view: null, base: null, key: "", tasks: new Map(), scene: null });
  const onTaskRef = useRef(onTask);
  onTaskRef.current = onTask;
  const [message, setMessage] = useState("");
  /** Draw the graph with its loops unrolled for the values run so far (relayout only when they change). */
  const redraw = useRef((current: TaskRun[]) => {
    const state = drawn.current;
    if (!state.view || !state.base) return;
    const key = unrollKey(state.base, current);
    if (key === state.key && state.scene) {
      decorate(state.scene, state.tasks, current);
      return;
    }
    const { graph, tasks } = unroll(state.base, current);
    state.key = key;
    state.tasks = tasks;
    state.view.update(graph);
  }).current;
  useEffect(() => {
    const el = host.current;
    if (!el || el.dataset.ready) return;
    el.dataset.ready = "1";
    const state = drawn.current;
    state.view = new TopologyView(el, {
      sizing: "auto",
      onDraw: (scene) => {
        state.scene = scene;
        decorate(scene, state.tasks, store.runs);
      },
      onNodeClick: (node) => {
        const id = node.task?.id;
        if (typeof id === "string") onTaskRef.current(id);
      },
    });
    api.get<FlowGraph>(graphUrl).then(
      ({ data }) => {
        if (!isFlowGraph(data)) throw new Error("not a graph");
        state.base = data;
        redraw(store.runs);
      },
      (err: unknown) => setMessage(`The topology could not be loaded: ${String(err)}`),
    );
  }, [store, graphUrl, redraw]);
  useEffect(() => redraw(runs), [runs, redraw]);
  return (
    <>
      {message && <p className="alert alert-warning">{message}</p>}
      <div ref={host} className="ex-topology" />
    </>
  );
}
