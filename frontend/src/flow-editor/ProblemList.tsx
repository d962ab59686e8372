/**
 * The problems footer under the YAML: the count, and once opened every problem with its place;
 * a click jumps the cursor to it.
 */

import { useState } from "react";

import type { Problem } from "./code";

interface Props {
  problems: Problem[];
  valid: boolean;
  onJump: (p: Problem) => void;
}

export function ProblemList({ problems, valid, onJump }: Props) {
  const [open, setOpen] = useState(false);
  const shown = problems.filter((p) => p.severity !== "info");
  const errors = shown.filter((p) => p.severity === "error").length;
  if (!shown.length) {
    return (
      <div className="fe-problems" aria-label="Problems">
        {valid ? "No problems" : ""}
      </div>
    );
  }
  const summary = errors ? `${errors} problem${errors > 1 ? "s" : ""}` : `${shown.length} warning${shown.length > 1 ? "s" : ""}`;
  return (
    <div className={`fe-problems${open ? " is-open" : ""}`} aria-label="Problems">
      <button type="button" className="fe-problems-toggle" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {open ? "▾" : "▸"} {summary}
      </button>
      {open ? (
        <ul className="fe-problem-list">
          {shown.map((p, i) => (
            <li key={`${i}:${p.path}:${p.message}`}>
              <button type="button" className={`fe-problem fe-problem--${p.severity}`} onClick={() => onJump(p)}>
                <span className="fe-problem-where">{p.line !== null ? `line ${p.line}` : "flow"}</span>
                {p.path ? <code>{p.path}</code> : null}
                <span>{p.message}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
