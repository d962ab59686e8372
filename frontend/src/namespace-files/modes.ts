/** The CodeMirror language of a namespace file, from its extension. */

import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { sql } from "@codemirror/lang-sql";
import { yaml } from "@codemirror/lang-yaml";
import { StreamLanguage } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import type { Extension } from "@codemirror/state";

export type Mode = "python" | "sql" | "shell" | "yaml" | "json" | "text";

export function modeOf(path: string): Mode {
  const ext = path.toLowerCase().split(".").pop() ?? "";
  if (ext === "py") return "python";
  if (ext === "sql") return "sql";
  if (ext === "sh" || ext === "bash") return "shell";
  if (ext === "yml" || ext === "yaml") return "yaml";
  if (ext === "json") return "json";
  return "text";
}

export function language(mode: Mode): Extension[] {
  switch (mode) {
    case "python": return [python()];
    case "sql": return [sql()];
    case "shell": return [StreamLanguage.define(shell)];
    case "yaml": return [yaml()];
    case "json": return [json()];
    default: return [];
  }
}
