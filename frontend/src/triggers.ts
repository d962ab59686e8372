/**
 * Island `triggers` (the Triggers page and the flow's Triggers tab): opens the backfill dialogs
 * and, while a backfill runs, re-reads the trigger states every 2 s to move its progress bar.
 * Everything else is plain forms rendered by the server.
 */

import { api } from "./lib/api";
import { mountIslands } from "./lib/islands";

interface TriggersProps {
  searchUrl: string;
  namespace: string;
  flowId: string;
}

interface Backfill {
  total: number;
  created: number;
  progress: number;
  paused: boolean;
  done: boolean;
}

interface SearchItem {
  triggerContext: { namespace: string; flowId: string; triggerId: string; backfill: Backfill | null };
}

function running(el: HTMLElement): boolean {
  return [...el.querySelectorAll<HTMLElement>("[data-backfill-text]")].some(
    (t) => !/done|paused/.test(t.textContent ?? ""),
  );
}

mountIslands<TriggersProps>("triggers", (el, props) => {
  el.addEventListener("click", (event) => {
    const target = event.target as HTMLElement;
    const open = target.closest<HTMLElement>("[data-open-dialog]");
    if (open) document.getElementById(open.dataset.openDialog ?? "")?.closest("dialog")?.showModal();
    const close = target.closest<HTMLElement>("[data-close-dialog]");
    if (close) close.closest("dialog")?.close();
  });
  const refresh = async () => {
    const query = new URLSearchParams({ size: "1000" });
    if (props.namespace) query.set("namespace", props.namespace);
    if (props.flowId) query.set("flowId", props.flowId);
    const { data } = await api.get<{ results: SearchItem[] }>(`${props.searchUrl}?${query}`);
    for (const item of data.results) {
      const ctx = item.triggerContext;
      const row = el.querySelector<HTMLElement>(`[data-trigger="${CSS.escape(`${ctx.namespace}/${ctx.flowId}/${ctx.triggerId}`)}"]`);
      const backfill = ctx.backfill;
      if (!row || !backfill) continue;
      const bar = row.querySelector<HTMLProgressElement>("progress");
      const text = row.querySelector<HTMLElement>("[data-backfill-text]");
      if (bar) bar.value = backfill.progress;
      if (text) {
        text.textContent = `${backfill.created}/${backfill.total}${backfill.done ? " · done" : backfill.paused ? " · paused" : ""}`;
      }
    }
  };
  const timer = window.setInterval(() => {
    if (running(el)) void refresh().catch(() => undefined);
  }, 2000);
  window.addEventListener("pagehide", () => window.clearInterval(timer));
});
