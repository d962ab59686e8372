/**
 * Minimal fetch wrapper for Weir's REST API, used by every island.
 *
 * The browser authenticates with the Django session, so every unsafe request must carry the
 * CSRF token from the `csrftoken` cookie. Errors are normalised into one `ApiError` shape so
 * islands can show the server's message and per-line problems without knowing each endpoint.
 */

/** One problem the server found in a flow source (1-based line and column, when known). */
export interface SourceProblem {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly errors: SourceProblem[];
  readonly body: unknown;

  constructor(status: number, message: string, errors: SourceProblem[], body: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  // Fallback for pages that render the token but where the cookie is not readable yet.
  const input = document.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]");
  return input?.value ?? "";
}

export interface RequestOptions {
  method?: string;
  /** A string is sent as YAML (the flow endpoints' format); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function asProblems(value: unknown): SourceProblem[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null)
    .map((e) => ({
      path: typeof e.path === "string" ? e.path : "",
      line: typeof e.line === "number" ? e.line : null,
      column: typeof e.column === "number" ? e.column : null,
      message: typeof e.message === "string" ? e.message : String(e.message ?? "error"),
    }));
}

/** The human message of an error body: `message`, DRF's `detail`, or the status text. */
function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.message === "string" && b.message) return b.message;
    if (typeof b.detail === "string" && b.detail) return b.detail;
  }
  if (typeof body === "string" && body.trim() && body.length < 300) return body.trim();
  return fallback;
}

export async function request<T = unknown>(url: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const method = (options.method ?? (options.body === undefined ? "GET" : "POST")).toUpperCase();
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let body: BodyInit | undefined;
  if (typeof options.body === "string") {
    headers["Content-Type"] ??= "application/x-yaml";
    body = options.body;
  } else if (options.body !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  if (!SAFE_METHODS.has(method)) headers["X-CSRFToken"] = csrfToken();

  let response: Response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "same-origin", signal: options.signal });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The server could not be reached. Check your connection and try again.", [], null);
  }

  const type = response.headers.get("Content-Type") ?? "";
  let data: unknown = null;
  if (response.status !== 204) {
    data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    let fallback = `${response.status} ${response.statusText || "error"}`;
    if (response.status === 403) fallback = "You are not allowed to do this (your session may have expired: reload the page).";
    if (response.status === 413) fallback = "The flow is too large to be saved.";
    const errors = data && typeof data === "object" ? asProblems((data as Record<string, unknown>).errors) : [];
    throw new ApiError(response.status, messageOf(data, fallback), errors, data);
  }
  return { data: data as T, status: response.status, headers: response.headers };
}

export const api = {
  get: <T>(url: string, signal?: AbortSignal) => request<T>(url, { signal }),
  postYaml: <T>(url: string, yaml: string, signal?: AbortSignal) => request<T>(url, { method: "POST", body: yaml, signal }),
  putYaml: <T>(url: string, yaml: string, headers: Record<string, string> = {}) =>
    request<T>(url, { method: "PUT", body: yaml, headers }),
  delete: <T>(url: string) => request<T>(url, { method: "DELETE" }),
};

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}
