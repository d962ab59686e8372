/**
 * A WebSocket to Weir's live views that survives drops (apps/live/README.md).
 *
 * The server numbers log lines with a per-execution `seq`; every frame carries the last one it
 * has sent. On reconnect we pass `after=<last seq seen>` and the server replays the gap from the
 * database, so the caller sees every line exactly once. Reconnects back off up to 10 s.
 */

export interface LiveFrame {
  type: string;
  seq: number;
  [key: string]: unknown;
}

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed" | "refused";

export interface LiveOptions {
  /** Path and query without `after`, e.g. `/ws/v1/executions/<id>`. */
  path: string;
  /** Resume from `after` (log seq) on reconnects; the list stream does not use it. */
  resumable?: boolean;
  onFrame: (frame: LiveFrame) => void;
  onStatus?: (status: LiveStatus, detail?: string) => void;
}

/** Close codes 4000+HTTP status are final: the server said no (401, 403, 404, 400). */
const FINAL = (code: number) => code >= 4400 && code < 4500;

export class LiveSocket {
  private socket: WebSocket | null = null;
  private lastSeq = 0;
  private attempts = 0;
  private timer: number | undefined;
  private stopped = false;
  private readonly options: LiveOptions;

  constructor(options: LiveOptions) {
    this.options = options;
    this.open();
  }

  /** The last log seq received (what a reconnect resumes from). */
  get seq(): number {
    return this.lastSeq;
  }

  /** Close the current socket as a network drop would (tests, debugging): it reconnects. */
  drop(): void {
    this.socket?.close();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
    this.options.onStatus?.("closed");
  }

  private url(): string {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const sep = this.options.path.includes("?") ? "&" : "?";
    const after = this.options.resumable ? `${sep}after=${this.lastSeq}` : "";
    return `${scheme}//${location.host}${this.options.path}${after}`;
  }

  private open(): void {
    if (this.stopped) return;
    this.options.onStatus?.(this.attempts ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    let refused = "";
    socket.onopen = () => {
      this.attempts = 0;
      this.options.onStatus?.("open");
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      let frame: LiveFrame;
      try {
        frame = JSON.parse(event.data) as LiveFrame;
      } catch {
        return;
      }
      if (frame.type === "error") refused = String(frame.message ?? "refused");
      if (frame.type === "logs" && typeof frame.seq === "number") {
        // Defensive: a frame we have already seen (cannot happen with a correct server) is dropped.
        if (frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
      }
      this.options.onFrame(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (socket !== this.socket || this.stopped) return;
      if (FINAL(event.code)) {
        this.stopped = true;
        this.options.onStatus?.("refused", refused || `refused (${event.code})`);
        return;
      }
      this.attempts += 1;
      this.options.onStatus?.("reconnecting");
      const delay = Math.min(10_000, 250 * 2 ** Math.min(this.attempts - 1, 6));
      this.timer = window.setTimeout(() => this.open(), this.attempts === 1 ? 100 : delay);
    };
  }
}

/** What a `[data-live-status]` element says for each state of a socket. */
export function showStatus(el: HTMLElement | null, status: LiveStatus): void {
  if (!el) return;
  el.dataset.status = status;
  el.textContent = status === "open" ? "Live" : status === "refused" ? "Not live" : status === "connecting" ? "Connecting…" : "Reconnecting…";
}

/**
 * The list stream: one frame per change of an execution in `namespace` (children included)
 * or of one flow, its connection state shown on `status`.
 */
export function listStream(
  filter: { namespace?: string; flowId?: string },
  status: HTMLElement | null,
  onFrame: (frame: LiveFrame) => void,
): LiveSocket {
  const query = new URLSearchParams();
  if (filter.namespace) query.set("namespace", filter.namespace);
  if (filter.flowId) query.set("flowId", filter.flowId);
  return new LiveSocket({
    path: `/ws/v1/executions${query.size ? `?${query}` : ""}`,
    onStatus: (s) => showStatus(status, s),
    onFrame,
  });
}
