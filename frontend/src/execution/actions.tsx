/**
 * What the user may do with the execution, offered according to its live state, through the
 * REST API (apps/executions/api). The server decides; a refusal shows the server's message.
 */

import { useState } from "react";

import { ApiError, request } from "../lib/api";
import { type Execution, TERMINATED } from "./store";

const CHANGE_TO = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"];
const RESTARTABLE = new Set(["FAILED", "KILLED", "WARNING", "PAUSED", "CANCELLED"]);

export interface ActionProps {
  execution: Execution;
  canExecute: boolean;
  /** The page has a form for the paused task's onResume inputs: Resume goes there. */
  hasResumeForm: boolean;
  executionUrl: (id: string) => string;
}

export function Actions({ execution, canExecute, hasResumeForm, executionUrl }: ActionProps) {
  const [busy, setBusy] = useState("");
  const [error, setError] = useState("");
  const [target, setTarget] = useState("");
  if (!canExecute) return null;
  const state = execution.state.current;
  const terminated = TERMINATED.has(state);
  const base = `/api/v1/executions/${encodeURIComponent(execution.id)}`;

  const run = async (name: string, method: string, url: string, confirmText?: string) => {
    if (confirmText && !window.confirm(confirmText)) return;
    setBusy(name);
    setError("");
    try {
      const { data } = await request<{ id?: string }>(url, { method });
      if (name === "replay" && data?.id) window.location.href = executionUrl(data.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy("");
    }
  };

  return (
    <div className="ex-actions" role="group" aria-label="Execution actions">
      {state === "RUNNING" && (
        <button type="button" className="btn" disabled={!!busy} onClick={() => run("pause", "POST", `${base}/pause`)}>Pause</button>
      )}
      {state === "PAUSED" && (hasResumeForm ? (
        <a className="btn btn-primary" href="#resume">Resume…</a>
      ) : (
        <button type="button" className="btn btn-primary" disabled={!!busy} onClick={() => run("resume", "POST", `${base}/resume`)}>Resume</button>
      ))}
      {RESTARTABLE.has(state) && (
        <button type="button" className="btn" disabled={!!busy} onClick={() => run("restart", "POST", `${base}/restart`)}>Restart</button>
      )}
      <button type="button" className="btn" disabled={!!busy}
        onClick={() => run("replay", "POST", `${base}/replay`, "Replay this execution as a new one?")}>Replay</button>
      {terminated && (
        <span className="ex-change-status">
          <label className="sr-only" htmlFor="ex-change-status">New status</label>
          {/* A prompt, not a state: the run's state is the chip beside its title. */}
          <select id="ex-change-status" className="input select" value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Change status to…</option>
            {CHANGE_TO.filter((s) => s !== state).map((s) => <option key={s} value={s}>Mark as {s.toLowerCase()}</option>)}
          </select>
          <button type="button" className="btn" disabled={!!busy || !target}
            onClick={() => run("status", "POST", `${base}/change-status?status=${target}`, `Change the status to ${target}?`)}>
            Change status
          </button>
        </span>
      )}
      {!terminated && state !== "KILLING" && (
        <button type="button" className="btn btn-danger-outline" disabled={!!busy}
          onClick={() => run("kill", "DELETE", `${base}/kill`, "Kill this execution?")}>Kill</button>
      )}
      {error && <p className="alert alert-error ex-action-error" role="alert">{error}</p>}
    </div>
  );
}
