/**
 * Island `executions-list`: live state chips on the executions list, and a notice when new
 * executions match the filters (the list itself stays server-rendered and paginated: "Show"
 * reloads it, so filters, paging and permissions stay the server's).
 */

import "./execution/live.css";
import { mountIslands } from "./lib/islands";
import { listStream } from "./lib/live";
import { tone } from "./execution/store";

interface ListProps {
  namespace: string;
  flowId: string;
  state: string;
  firstPage: boolean;
}

interface Announced {
  id: string;
  namespace: string;
  flowId: string;
  state: string;
}

mountIslands<ListProps>("executions-list", (el, props) => {
  const fresh = new Set<string>();
  const notice = el.querySelector<HTMLElement>("[data-new-executions]");
  const status = el.querySelector<HTMLElement>("[data-live-status]");
  listStream(props, status, (frame) => {
    if (frame.type !== "execution") return;
    const ex = frame.execution as Announced;
    const row = document.querySelector<HTMLElement>(`tr[data-execution-id="${CSS.escape(ex.id)}"]`);
    if (row) {
      const chip = row.querySelector<HTMLElement>("[data-state]");
      if (chip && chip.dataset.state !== ex.state) {
        chip.dataset.state = ex.state;
        chip.textContent = ex.state;
        chip.className = `state state-${tone(ex.state)}`;
      }
      return;
    }
    if (!props.firstPage || (props.state && props.state !== ex.state) || !notice) return;
    fresh.add(ex.id);
    notice.hidden = false;
    const text = notice.querySelector<HTMLElement>("[data-new-count]");
    if (text) text.textContent = `${fresh.size} new execution${fresh.size === 1 ? "" : "s"}`;
  });
});
