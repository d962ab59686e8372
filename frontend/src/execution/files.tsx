/**
 * Previews of a task run's output files in the Outputs tab: every `kestra:///` value of its
 * outputs gets a download link, and tabular files (CSV, ION, JSON, JSON Lines) a "Preview"
 * button that loads their first rows from `GET …/file/preview` into a table. Cells are text
 * nodes only (React escapes them), never HTML.
 */

import { useState } from "react";

import { api, ApiError } from "../lib/api";

const TABULAR = /\.(csv|tsv|ion|json|jsonl|ndjson)$/i;
const PREVIEW_ROWS = 20;

interface Preview {
  extension: string;
  type: "LIST" | "TEXT";
  content: unknown;
  truncated: boolean;
}

/** Every `kestra:///` string in an outputs object, with the output path that holds it. */
export function fileUris(value: unknown, path = ""): Array<{ path: string; uri: string }> {
  if (typeof value === "string") return value.startsWith("kestra:///") ? [{ path, uri: value }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => fileUris(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => fileUris(v, path ? `${path}.${k}` : k));
  }
  return [];
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function RowsTable({ rows }: { rows: unknown[] }) {
  const columns: string[] = [];
  for (const row of rows) {
    if (row && typeof row === "object" && !Array.isArray(row)) {
      for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    }
  }
  if (!rows.length) return <p className="muted">The file is empty.</p>;
  if (!columns.length) {
    return (
      <table className="table ex-preview-table">
        <tbody>{rows.map((row, i) => <tr key={i}>{(Array.isArray(row) ? row : [row]).map((v, j) => <td key={j}>{cell(v)}</td>)}</tr>)}</tbody>
      </table>
    );
  }
  return (
    <table className="table ex-preview-table">
      <thead><tr>{columns.map((c) => <th scope="col" key={c}>{c}</th>)}</tr></thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>{columns.map((c) => <td key={c}>{cell((row as Record<string, unknown>)?.[c])}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

function FileEntry({ base, path, uri }: { base: string; path: string; uri: string }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  const name = uri.slice(uri.lastIndexOf("/") + 1);
  const query = `path=${encodeURIComponent(uri)}`;
  const load = async () => {
    setLoading(true);
    setError("");
    try {
      const { data } = await api.get<Preview>(`${base}/preview?${query}&maxRows=${PREVIEW_ROWS}`);
      setPreview(data);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The preview could not be loaded.");
    } finally {
      setLoading(false);
    }
  };
  return (
    <div className="ex-file" data-file-uri={uri}>
      <div className="ex-file-head">
        <code>{path}</code> <a href={`${base}?${query}`} download={name}>Download {name}</a>
        {TABULAR.test(name) && !preview && (
          <button type="button" className="btn btn-small" onClick={load} disabled={loading}>
            {loading ? "Loading…" : "Preview"}
          </button>
        )}
      </div>
      {error && <p className="error">{error}</p>}
      {preview && (
        <div className="ex-preview">
          {preview.type === "LIST" && Array.isArray(preview.content)
            ? <RowsTable rows={preview.content} />
            : <pre className="value">{cell(preview.content)}</pre>}
          {preview.truncated && <p className="muted">First {PREVIEW_ROWS} rows; download the file for the rest.</p>}
        </div>
      )}
    </div>
  );
}

export function OutputFiles({ base, outputs }: { base: string; outputs: unknown }) {
  const files = fileUris(outputs);
  if (!files.length || !base) return null;
  return (
    <div className="ex-files">
      {files.map(({ path, uri }) => <FileEntry key={`${path}:${uri}`} base={base} path={path} uri={uri} />)}
    </div>
  );
}
