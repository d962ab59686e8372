/**
 * The execution page's state, fed by the live socket: the execution, its task runs, its logs.
 *
 * React components subscribe through `useSyncExternalStore`; the log viewer reads the log
 * arrays directly (100 000 lines must not go through React state).
 */

export interface StateInfo {
  current: string;
  histories?: { state: string; date: string }[];
  startDate?: string | null;
  endDate?: string | null;
}

export interface TaskRun {
  id: string;
  taskId: string;
  parentTaskRunId: string | null;
  value: string | null;
  iteration: number | null;
  seq: number;
  attempts: { state: { current: string } }[];
  outputs: Record<string, unknown> | null;
  state: StateInfo;
}

export interface Execution {
  id: string;
  namespace: string;
  flowId: string;
  flowRevision: number;
  state: StateInfo;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  labels: { key: string; value: string }[];
  trigger?: unknown;
  parentId?: string | null;
}

export interface LogLine {
  seq: number;
  taskRunId: string | null;
  taskId: string | null;
  attemptNumber: number | null;
  level: string;
  message: string;
  timestamp: string;
}

export const TERMINATED = new Set(["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"]);

export const STATE_TONE: Record<string, string> = {
  SUCCESS: "success", WARNING: "warn", FAILED: "danger", KILLED: "dark", KILLING: "dark",
  RUNNING: "running", RESTARTED: "running", RETRYING: "running", PAUSED: "paused",
  QUEUED: "muted", CREATED: "muted", CANCELLED: "muted", SKIPPED: "muted", RETRIED: "muted",
};

export const tone = (state: string | undefined): string => STATE_TONE[state ?? ""] ?? "muted";

type Listener = () => void;

export class ExecutionStore {
  execution: Execution | null = null;
  runs: TaskRun[] = [];
  logs: LogLine[] = [];
  connection: { status: string; detail?: string } = { status: "connecting" };
  /** Bumped on every change, so React sees a new snapshot. */
  version = 0;
  private readonly listeners = new Set<Listener>();
  private readonly logListeners = new Set<(added: LogLine[]) => void>();
  private readonly countListeners = new Set<Listener>();
  private scheduled = false;
  private countScheduled = false;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  /**
   * The log count, on its own subscription: a log flood re-renders only the count (once per
   * frame), not the whole page (Gantt, outputs, topology), which only state frames change.
   */
  subscribeLogCount = (listener: Listener): (() => void) => {
    this.countListeners.add(listener);
    return () => this.countListeners.delete(listener);
  };

  getLogCount = (): number => this.logs.length;

  onLogs(listener: (added: LogLine[]) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  /** Coalesce notifications to one per animation frame (a log flood re-renders ~60×/s at most). */
  private changed(): void {
    this.version += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }

  setConnection(status: string, detail?: string): void {
    this.connection = { status, detail };
    this.changed();
  }

  applyState(frame: { full?: boolean; execution?: Execution | null; taskRuns?: TaskRun[]; removed?: string[] }): void {
    if (frame.execution) this.execution = frame.execution;
    const byId = new Map(frame.full ? [] : this.runs.map((r) => [r.id, r] as const));
    for (const run of frame.taskRuns ?? []) byId.set(run.id, run);
    for (const id of frame.removed ?? []) byId.delete(id);
    this.runs = [...byId.values()].sort((a, b) => a.seq - b.seq);
    this.changed();
  }

  appendLogs(lines: LogLine[]): void {
    if (!lines.length) return;
    for (const line of lines) this.logs.push(line);
    for (const l of this.logListeners) l(lines);
    if (this.countScheduled) return;
    this.countScheduled = true;
    requestAnimationFrame(() => {
      this.countScheduled = false;
      for (const l of this.countListeners) l();
    });
  }

  get terminated(): boolean {
    return TERMINATED.has(this.execution?.state.current ?? "");
  }
}
