/**
 * Island `execution`: the live execution page (DESIGN.md §8). One WebSocket feeds a store; the
 * server-rendered sections inside the island element are the no-JavaScript fallback and are
 * replaced on mount. The element exposes `liveSocket` and `store` (tests, debugging).
 */

import { createRoot } from "react-dom/client";

import { ExecutionApp, type ExecutionProps } from "./execution/App";
import "./execution/execution.css";
import { type Execution, ExecutionStore, type LogLine, type TaskRun } from "./execution/store";
import { mountIslands } from "./lib/islands";
import { LiveSocket } from "./lib/live";
import "./topology/topology.css";

mountIslands<ExecutionProps>("execution", (el, props) => {
  const store = new ExecutionStore();
  const socket = new LiveSocket({
    path: `/ws/v1/executions/${encodeURIComponent(props.id)}`,
    resumable: true,
    onStatus: (status, detail) => store.setConnection(status, detail),
    onFrame: (frame) => {
      if (frame.type === "state") {
        store.applyState(frame as unknown as { full: boolean; execution: Execution | null; taskRuns: TaskRun[]; removed: string[] });
      } else if (frame.type === "logs") {
        store.appendLogs(frame.lines as LogLine[]);
      }
    },
  });
  Object.assign(el, { liveSocket: socket, store });
  el.replaceChildren();
  // The header's server-rendered buttons are the no-JavaScript fallback: live ones replace them.
  const actionsSlot = document.querySelector<HTMLElement>("[data-execution-actions]");
  actionsSlot?.replaceChildren();
  createRoot(el).render(
    <ExecutionApp store={store} props={props} graphUrl={props.urls.graph} actionsSlot={actionsSlot}
      stateChip={document.querySelector<HTMLElement>("[data-execution-state]")} />,
  );
});
