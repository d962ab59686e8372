/**
 * Island `namespace-files`: a namespace's file tree and a CodeMirror editor (Python, SQL, shell,
 * YAML, JSON modes). Everything goes through the namespace-file REST API
 * (`/api/v1/namespaces/{ns}/files…`), so the page and the API enforce the same permissions:
 * readers browse, writers create, edit, rename and delete.
 */

import "./namespace-files/files.css";
import { indentWithTab } from "@codemirror/commands";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { ApiError, csrfToken, request } from "./lib/api";
import { mountIslands } from "./lib/islands";
import { language, modeOf } from "./namespace-files/modes";

interface Props {
  namespace: string;
  apiBase: string;
  canWrite: boolean;
}

interface Entry {
  fileName: string;
  path: string;
  type: "File" | "Directory";
  size: number;
}

mountIslands<Props>("namespace-files", (el, props) => {
  el.innerHTML = "";
  const root = document.createElement("div");
  root.className = "nsf";
  const tree = document.createElement("nav");
  tree.className = "nsf-tree";
  tree.setAttribute("aria-label", "Namespace files");
  const pane = document.createElement("section");
  pane.className = "nsf-pane";
  const bar = document.createElement("div");
  bar.className = "nsf-bar";
  const pathLabel = document.createElement("span");
  pathLabel.className = "nsf-path";
  pathLabel.textContent = "No file open";
  const status = document.createElement("span");
  status.className = "nsf-status";
  status.setAttribute("role", "status");
  const code = document.createElement("div");
  code.className = "nsf-code";
  const button = (label: string, title: string, onClick: () => void, cls = "btn btn-sm") => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.title = title;
    b.addEventListener("click", onClick);
    return b;
  };
  const target = document.createElement("input");
  target.className = "input input-mono input-sm";
  target.placeholder = "path, e.g. scripts/etl.py";
  target.setAttribute("aria-label", "Path for a new file or folder, or the new name");
  const typed = () => {
    const value = target.value.trim();
    if (!value) say("Type a path first", "error");
    return value;
  };
  let current: string | null = null;
  let saved = "";
  const expanded = new Set<string>([""]);
  const lang = new Compartment();
  const readOnly = new Compartment();

  const say = (text: string, kind = "") => {
    status.textContent = text;
    status.dataset.kind = kind;
  };
  const fail = (err: unknown) => say(err instanceof ApiError ? err.message : String(err), "error");
  const url = (suffix: string, params: Record<string, string> = {}) => {
    const query = new URLSearchParams(params).toString();
    return `${props.apiBase}${suffix}${query ? `?${query}` : ""}`;
  };

  const view = new EditorView({
    parent: code,
    state: EditorState.create({
      doc: "",
      extensions: [
        Prec.highest(keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (void save(), true) }])),
        basicSetup,
        keymap.of([indentWithTab]),
        lang.of([]),
        readOnly.of(EditorState.readOnly.of(true)),
        EditorView.contentAttributes.of({ "aria-label": "File content" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && current) say(u.state.doc.toString() === saved ? "" : "Unsaved changes", "");
        }),
      ],
    }),
  });

  async function open(path: string) {
    try {
      const response = await fetch(url("", { path }), { credentials: "same-origin" });
      if (!response.ok) throw new ApiError(response.status, (await response.json().catch(() => ({}))).message ?? response.statusText, [], null);
      saved = await response.text();
      current = path;
      pathLabel.textContent = path;
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: saved },
        effects: [lang.reconfigure(language(modeOf(path))), readOnly.reconfigure(EditorState.readOnly.of(!props.canWrite))],
      });
      say(props.canWrite ? "" : "Read only (you need WRITE on this namespace to edit)");
      await draw();
    } catch (err) {
      fail(err);
    }
  }

  async function upload(path: string, text: string) {
    const form = new FormData();
    form.append("fileContent", new Blob([text], { type: "application/octet-stream" }), path.split("/").pop() ?? "file");
    const response = await fetch(url("", { path }), {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new ApiError(response.status, body.message ?? response.statusText, [], body);
    }
  }

  async function save() {
    if (!current || !props.canWrite) return;
    const text = view.state.doc.toString();
    try {
      say("Saving…");
      await upload(current, text);
      saved = text;
      say("Saved", "saved");
    } catch (err) {
      fail(err);
    }
  }

  async function create() {
    const path = typed();
    if (!path) return;
    try {
      await upload(path, "");
      target.value = "";
      for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) expanded.add(path.slice(0, i).replace(/^\//, ""));
      await open(path.startsWith("/") ? path : `/${path}`);
    } catch (err) {
      fail(err);
    }
  }

  async function mkdir() {
    const path = typed();
    if (!path) return;
    try {
      await request(url("/directory", { path }), { method: "POST" });
      await draw();
    } catch (err) {
      fail(err);
    }
  }

  async function rename() {
    if (!current) return;
    const to = typed();
    if (!to || to === current) return;
    try {
      await request(url("", { from: current, to }), { method: "PUT" });
      await open(to.startsWith("/") ? to : `/${to}`);
    } catch (err) {
      fail(err);
    }
  }

  async function remove() {
    if (!current || !window.confirm(`Delete ${current}?`)) return;
    try {
      await request(url("", { path: current }), { method: "DELETE" });
      current = null;
      saved = "";
      pathLabel.textContent = "No file open";
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: "" } });
      say("Deleted", "saved");
      await draw();
    } catch (err) {
      fail(err);
    }
  }

  async function listing(path: string): Promise<Entry[]> {
    const { data } = await request<Entry[]>(url("/directory", path ? { path } : {}));
    return data;
  }

  async function branch(path: string): Promise<HTMLUListElement> {
    const list = document.createElement("ul");
    for (const entry of await listing(path)) {
      const item = document.createElement("li");
      const key = entry.path.replace(/^\//, "");
      const b = document.createElement("button");
      b.type = "button";
      b.className = `nsf-entry ${entry.type === "Directory" ? "nsf-dir" : "nsf-file"}`;
      b.textContent = entry.fileName;
      b.dataset.path = entry.path;
      if (entry.type === "Directory") {
        b.setAttribute("aria-expanded", String(expanded.has(key)));
        b.addEventListener("click", () => {
          if (expanded.has(key)) expanded.delete(key);
          else expanded.add(key);
          void draw();
        });
        item.append(b);
        if (expanded.has(key)) item.append(await branch(key));
      } else {
        b.setAttribute("aria-current", String(entry.path === current));
        b.addEventListener("click", () => void open(entry.path));
        item.append(b);
      }
      list.append(item);
    }
    return list;
  }

  async function draw() {
    try {
      const list = await branch("");
      tree.replaceChildren(list);
      if (!list.children.length) {
        const empty = document.createElement("p");
        empty.className = "nsf-empty";
        empty.textContent = props.canWrite ? "No files yet: create one." : "No files yet.";
        tree.replaceChildren(empty);
      }
    } catch (err) {
      fail(err);
    }
  }

  bar.append(pathLabel, status);
  if (props.canWrite) {
    bar.append(target, button("New file", "Create a file at the typed path", () => void create()),
      button("New folder", "Create a folder at the typed path", () => void mkdir()),
      button("Rename", "Move or rename the open file to the typed path", () => void rename()),
      button("Delete", "Delete the open file", () => void remove(), "btn btn-sm btn-danger"),
      button("Save", "Save (Ctrl+S)", () => void save(), "btn btn-sm btn-primary"));
  }
  pane.append(bar, code);
  root.append(tree, pane);
  el.append(root);
  void draw();
});
