/**
 * The log viewer: follow/tail, filters (task, minimum level, text), jump to errors, ANSI colours.
 *
 * Built for 100 000 lines without freezing the page: lines live in plain arrays (never in React
 * state), only the rows in view exist in the DOM (fixed row height, recycled elements), appends
 * are filtered incrementally and painted once per animation frame. Log text only ever reaches
 * the DOM through `textContent` (lib/ansi.ts).
 */

import { renderAnsi, stripAnsi } from "../lib/ansi";
import type { ExecutionStore } from "./store";

const ROW = 20;
const OVERSCAN = 12;
/**
 * While lines stream in, repaint at most this often: a replayed log arrives as thousands of lines
 * per frame, and repainting every animation frame (re-rendering every visible row as the tail
 * moves) stacked style, layout and garbage collection into long tasks. Scrolling still repaints
 * on the next frame.
 */
const APPEND_PAINT_MS = 120;
export const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] as const;
const RANK: Record<string, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

function timeOf(iso: string): string {
  const t = iso.indexOf("T");
  return t >= 0 ? iso.slice(t + 1, t + 13) : iso;
}

export interface LogFilter {
  taskId: string;
  minLevel: string;
  text: string;
}

export class LogViewer {
  readonly root: HTMLElement;
  private readonly store: ExecutionStore;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly rowsBox: HTMLDivElement;
  private readonly countEl: HTMLSpanElement;
  private readonly errorsEl: HTMLSpanElement;
  private readonly taskSelect: HTMLSelectElement;
  private readonly followBox: HTMLInputElement;
  private readonly detail: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];
  private filter: LogFilter = { taskId: "", minLevel: "TRACE", text: "" };
  /** Indexes into `store.logs` of the lines that pass the filter, in order. */
  private shown: number[] = [];
  private lowered: string[] = [];
  private follow = true;
  private frame = 0;
  private appendTimer = 0;
  private lastPaint = 0;
  private selected = -1;
  private errorCursor = -1;
  private knownTasks = new Set<string>();

  constructor(root: HTMLElement, store: ExecutionStore, downloadUrl: string) {
    this.root = root;
    this.store = store;
    root.classList.add("lv");
    const bar = el("div", "lv-toolbar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Log filters");

    this.taskSelect = el("select", "input select lv-task-filter");
    this.taskSelect.setAttribute("aria-label", "Task");
    this.taskSelect.append(new Option("All tasks", ""));
    this.taskSelect.addEventListener("change", () => this.setFilter({ taskId: this.taskSelect.value }));

    const level = el("select", "input select lv-level-filter");
    level.setAttribute("aria-label", "Minimum level");
    for (const lv of LEVELS) level.append(new Option(lv === "TRACE" ? "All levels" : `${lv}${lv === "ERROR" ? "" : "+"}`, lv));
    level.addEventListener("change", () => this.setFilter({ minLevel: level.value }));

    const search = el("input", "input lv-search");
    search.type = "search";
    search.placeholder = "Filter text…";
    search.setAttribute("aria-label", "Filter log text");
    let debounce = 0;
    search.addEventListener("input", () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(() => this.setFilter({ text: search.value }), 150);
    });

    const prev = el("button", "btn btn-sm lv-prev-error", "↑ Error");
    prev.type = "button";
    prev.title = "Previous error";
    prev.setAttribute("aria-label", "Previous error");
    prev.addEventListener("click", () => this.jumpToError(-1));
    const next = el("button", "btn btn-sm lv-next-error", "↓ Error");
    next.type = "button";
    next.title = "Next error";
    next.setAttribute("aria-label", "Next error");
    next.addEventListener("click", () => this.jumpToError(1));
    this.errorsEl = el("span", "lv-errors muted");

    const followLabel = el("label", "lv-follow");
    this.followBox = el("input");
    this.followBox.type = "checkbox";
    this.followBox.checked = true;
    this.followBox.addEventListener("change", () => {
      this.follow = this.followBox.checked;
      if (this.follow) this.scrollToEnd();
    });
    followLabel.append(this.followBox, document.createTextNode(" Follow"));

    this.countEl = el("span", "lv-count muted");
    this.countEl.setAttribute("aria-live", "polite");
    const download = el("a", "btn btn-sm", "Download");
    download.href = downloadUrl;
    bar.append(this.taskSelect, level, search, prev, next, this.errorsEl, followLabel, this.countEl, download);

    this.viewport = el("div", "lv-viewport");
    this.viewport.tabIndex = 0;
    this.viewport.setAttribute("role", "log");
    this.viewport.setAttribute("aria-label", "Log lines");
    this.spacer = el("div", "lv-spacer");
    this.rowsBox = el("div", "lv-rows");
    this.spacer.append(this.rowsBox);
    this.viewport.append(this.spacer);
    this.viewport.addEventListener("scroll", () => {
      const atEnd = this.viewport.scrollTop + this.viewport.clientHeight >= this.viewport.scrollHeight - ROW;
      if (atEnd !== this.follow) {
        this.follow = atEnd;
        this.followBox.checked = atEnd;
      }
      this.schedule();
    }, { passive: true });
    this.rowsBox.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest<HTMLDivElement>(".lv-row");
      if (row?.dataset.index) this.select(Number(row.dataset.index));
    });

    this.detail = el("div", "lv-detail");
    this.detail.hidden = true;
    root.replaceChildren(bar, this.viewport, this.detail);

    this.appendIndexes(0);
    store.onLogs((added) => this.onAppend(added.length));
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
  }

  /** Lines currently shown (after filters), and the total received. */
  get counts(): { shown: number; total: number } {
    return { shown: this.shown.length, total: this.store.logs.length };
  }

  setFilter(change: Partial<LogFilter>): void {
    this.filter = { ...this.filter, ...change };
    if (change.taskId !== undefined) this.taskSelect.value = change.taskId;
    this.shown = [];
    this.errorCursor = -1;
    this.appendIndexes(0);
    if (this.follow) this.scrollToEnd();
    this.schedule();
  }

  private matches(index: number): boolean {
    const line = this.store.logs[index];
    if ((RANK[line.level] ?? 2) < RANK[this.filter.minLevel]) return false;
    if (this.filter.taskId && line.taskId !== this.filter.taskId) return false;
    if (this.filter.text) {
      this.lowered[index] ??= stripAnsi(line.message).toLowerCase();
      if (!this.lowered[index].includes(this.filter.text.toLowerCase())) return false;
    }
    return true;
  }

  private appendIndexes(from: number): void {
    const logs = this.store.logs;
    for (let i = from; i < logs.length; i++) {
      if (this.matches(i)) this.shown.push(i);
      const task = logs[i].taskId;
      if (task && !this.knownTasks.has(task)) {
        this.knownTasks.add(task);
        this.taskSelect.append(new Option(task, task));
      }
    }
  }

  private onAppend(count: number): void {
    this.appendIndexes(this.store.logs.length - count);
    if (this.frame || this.appendTimer) return;
    const wait = this.lastPaint + APPEND_PAINT_MS - performance.now();
    if (wait <= 0) this.schedule();
    else this.appendTimer = window.setTimeout(() => {
      this.appendTimer = 0;
      this.schedule();
    }, wait);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private scrollToEnd(): void {
    this.spacer.style.height = `${this.shown.length * ROW}px`;
    this.viewport.scrollTop = this.viewport.scrollHeight;
  }

  private paint(): void {
    this.lastPaint = performance.now();
    const total = this.shown.length;
    this.spacer.style.height = `${total * ROW}px`;
    if (this.follow) this.viewport.scrollTop = this.viewport.scrollHeight;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN);
    this.rowsBox.style.transform = `translateY(${first * ROW}px)`;
    const needed = last - first;
    while (this.pool.length < needed) {
      const row = el("div", "lv-row");
      row.append(el("span", "lv-time"), el("span", "lv-level"), el("span", "lv-task"), el("span", "lv-msg"));
      this.pool.push(row);
      this.rowsBox.append(row);
    }
    for (let i = 0; i < this.pool.length; i++) {
      const row = this.pool[i];
      if (i >= needed) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      const index = this.shown[first + i];
      if (row.dataset.index === String(index)) {
        row.classList.toggle("lv-row--selected", index === this.selected);
        continue;
      }
      const line = this.store.logs[index];
      row.dataset.index = String(index);
      row.dataset.seq = String(line.seq);
      row.className = `lv-row lv-${line.level.toLowerCase()}${index === this.selected ? " lv-row--selected" : ""}`;
      const [time, level, task, msg] = row.children as unknown as HTMLSpanElement[];
      time.textContent = timeOf(line.timestamp);
      level.textContent = line.level;
      task.textContent = line.taskId ?? "—";
      const newline = line.message.indexOf("\n");
      renderAnsi(msg, newline >= 0 ? `${line.message.slice(0, newline)}  ⏎ +${line.message.split("\n").length - 1} lines` : line.message);
    }
    const { shown, total: all } = this.counts;
    this.countEl.textContent = shown === all ? `${all} lines` : `${shown} of ${all} lines`;
  }

  private select(index: number): void {
    this.selected = index;
    const line = this.store.logs[index];
    this.detail.hidden = false;
    const head = el("div", "lv-detail-head");
    head.textContent = `#${line.seq} · ${line.timestamp} · ${line.level} · ${line.taskId ?? "execution"}`;
    const close = el("button", "btn btn-ghost btn-sm", "Close");
    close.type = "button";
    close.setAttribute("aria-label", "Close the line details");
    close.addEventListener("click", () => {
      this.detail.hidden = true;
      this.selected = -1;
      this.schedule();
    });
    head.append(close);
    const body = el("pre", "lv-detail-body");
    renderAnsi(body, line.message);
    this.detail.replaceChildren(head, body);
    this.schedule();
  }

  /** Scroll to the previous (-1) or next (+1) ERROR line among the shown lines. */
  jumpToError(direction: 1 | -1): void {
    const logs = this.store.logs;
    const errors: number[] = [];
    for (let p = 0; p < this.shown.length; p++) if (logs[this.shown[p]].level === "ERROR") errors.push(p);
    if (!errors.length) {
      this.errorsEl.textContent = "no errors";
      return;
    }
    let at = errors.findIndex((p) => (direction > 0 ? p > this.errorCursor : p >= this.errorCursor));
    if (direction > 0) at = at < 0 ? 0 : at;
    else at = at <= 0 ? errors.length - 1 : at - 1;
    this.errorCursor = errors[at];
    this.errorsEl.textContent = `error ${at + 1} of ${errors.length}`;
    this.follow = false;
    this.followBox.checked = false;
    this.viewport.scrollTop = Math.max(0, this.errorCursor * ROW - this.viewport.clientHeight / 3);
    this.select(this.shown[this.errorCursor]);
  }
}
