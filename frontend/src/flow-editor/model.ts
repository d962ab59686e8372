/**
 * The flow's task structure as the canvas sees it, read from the YAML text with eemeli `yaml`.
 *
 * The model keeps, for every task, where it sits in the document (a path of keys and indexes), so
 * canvas operations (`ops.ts`) can address the exact text they change. Structure is recognised
 * from the YAML itself, not the schema: a key whose value is a list of `{id, type}` maps (or of
 * Dag `{task, dependsOn}` entries) is a task slot. That keeps the canvas working while the schema
 * is still loading and for plugin types the schema does not know.
 */

import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";

export type Path = (string | number)[];

/** Keys that hold task lists in Kestra flows and flowables. `cases` holds a map of lists. */
export const LIST_SLOTS = ["tasks", "then", "else", "defaults", "errors", "finally", "afterExecution"] as const;
export const ROOT_SLOTS = ["tasks", "errors", "finally", "afterExecution"] as const;
/** The flow's triggers: a root list of `{id, type}` maps the canvas shows as its own lane. */
export const TRIGGERS = "triggers";

export function isTriggerPath(path: Path): boolean {
  return path[0] === TRIGGERS;
}

export interface TaskInfo {
  /** Stable key of the task: its id (ids are unique in a flow). */
  id: string;
  type: string;
  /** Path to the task's own map. */
  path: Path;
  /** Path to the list item holding it (the Dag entry for Dag children, else `path`). */
  itemPath: Path;
  /** Path to the map that carries `dependsOn` (the Dag entry, or the task itself). */
  dependsOnPath: Path;
  dependsOn: string[];
  slot: SlotInfo;
  slots: SlotInfo[];
  index: number;
  disabled: boolean;
}

export type SlotKind = "list" | "dag";

export interface SlotInfo {
  /** Path of the list in the document (may not exist yet, e.g. an If without `else`). */
  path: Path;
  /** Label shown on the lane: `tasks`, `then`, `case A`, `errors`… */
  label: string;
  kind: SlotKind;
  owner: TaskInfo | null;
  tasks: TaskInfo[];
  /** A list where some task has `dependsOn` runs as a DAG (Weir extension); Dag slots always do. */
  dag: boolean;
  exists: boolean;
}

export interface FlowModel {
  doc: Document.Parsed;
  ok: boolean;
  error: string | null;
  slots: SlotInfo[];
  byId: Map<string, TaskInfo>;
  tasks: TaskInfo[];
}

export function pathKey(path: Path): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
}

export function parse(src: string): Document.Parsed {
  return parseDocument(src, { keepSourceTokens: true, uniqueKeys: false, prettyErrors: false });
}

function scalarString(node: unknown): string | null {
  if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) return String(node.value);
  return null;
}

function looksLikeTask(node: unknown): node is YAMLMap {
  return isMap(node) && node.has("type") && node.has("id");
}

function isDagEntry(node: unknown): node is YAMLMap {
  return isMap(node) && looksLikeTask(node.get("task", true));
}

function stringList(node: unknown): string[] {
  if (isSeq(node)) return node.items.map(scalarString).filter((s): s is string => s !== null);
  const one = scalarString(node);
  return one ? [one] : [];
}

function readSlot(doc: Document.Parsed, path: Path, label: string, owner: TaskInfo | null, model: FlowModel): SlotInfo {
  const node = doc.getIn(path, true);
  const seq = isSeq(node) ? (node as YAMLSeq) : null;
  const kind: SlotKind = seq && seq.items.some(isDagEntry) ? "dag" : "list";
  const slot: SlotInfo = { path, label, kind, owner, tasks: [], dag: kind === "dag", exists: node !== undefined };
  if (!seq) return slot;
  seq.items.forEach((item, index) => {
    const itemPath = [...path, index];
    const taskNode = kind === "dag" && isMap(item) ? item.get("task", true) : item;
    if (!looksLikeTask(taskNode)) return;
    const taskPath = kind === "dag" ? [...itemPath, "task"] : itemPath;
    const carrier = kind === "dag" ? (item as YAMLMap) : taskNode;
    const task: TaskInfo = {
      id: scalarString(taskNode.get("id", true)) ?? `#${pathKey(taskPath)}`,
      type: scalarString(taskNode.get("type", true)) ?? "",
      path: taskPath,
      itemPath,
      dependsOnPath: kind === "dag" ? itemPath : taskPath,
      dependsOn: stringList(carrier.get("dependsOn", true)),
      slot,
      slots: [],
      index,
      disabled: isScalar(taskNode.get("disabled", true)) && (taskNode.get("disabled", true) as { value: unknown }).value === true,
    };
    if (task.dependsOn.length) slot.dag = true;
    slot.tasks.push(task);
    model.tasks.push(task);
    if (!model.byId.has(task.id)) model.byId.set(task.id, task);
    task.slots = childSlots(doc, taskNode, taskPath, task, model);
  });
  return slot;
}

/** Child task slots of a flowable task: every list slot present, plus Switch `cases`. */
function childSlots(doc: Document.Parsed, node: YAMLMap, path: Path, owner: TaskInfo, model: FlowModel): SlotInfo[] {
  const out: SlotInfo[] = [];
  const short = owner.type.slice(owner.type.lastIndexOf(".") + 1);
  for (const pair of node.items) {
    const key = scalarString(pair.key);
    if (!key) continue;
    if (key === "cases" && isMap(pair.value)) {
      for (const casePair of pair.value.items) {
        const caseKey = scalarString(casePair.key);
        if (caseKey !== null) out.push(readSlot(doc, [...path, "cases", caseKey], `case ${caseKey}`, owner, model));
      }
      continue;
    }
    if (!(LIST_SLOTS as readonly string[]).includes(key)) continue;
    const value = pair.value;
    const holdsTasks = isSeq(value) && (value.items.length === 0 || value.items.some((i) => looksLikeTask(i) || isDagEntry(i)));
    if (holdsTasks || (isScalar(value) && value.value === null)) out.push(readSlot(doc, [...path, key], key, owner, model));
  }
  // An If always offers its `else` lane, so a task can be dropped there before the key exists.
  if (short === "If" && !out.some((s) => s.label === "else")) out.push(readSlot(doc, [...path, "else"], "else", owner, model));
  return out;
}

export function buildModel(src: string): FlowModel {
  const doc = parse(src);
  const model: FlowModel = { doc, ok: doc.errors.length === 0, error: doc.errors[0]?.message ?? null, slots: [], byId: new Map(), tasks: [] };
  if (!model.ok || !isMap(doc.contents)) {
    if (model.ok) model.error = src.trim() ? "the flow is not a YAML mapping" : null;
    model.ok = model.ok && (isMap(doc.contents) || !src.trim());
    if (!isMap(doc.contents)) return model;
  }
  for (const key of ROOT_SLOTS) {
    if (key !== "tasks" && !doc.has(key)) continue;
    model.slots.push(readSlot(doc, [key], key, null, model));
  }
  if (doc.has(TRIGGERS)) model.slots.push(readSlot(doc, [TRIGGERS], TRIGGERS, null, model));
  return model;
}

/** Every task and trigger id in the document (for unique names on insert and paste). */
export function allIds(model: FlowModel): Set<string> {
  return new Set(model.tasks.map((t) => t.id));
}

export function findSlot(model: FlowModel, path: Path): SlotInfo | null {
  const key = pathKey(path);
  const walk = (slots: SlotInfo[]): SlotInfo | null => {
    for (const s of slots) {
      if (pathKey(s.path) === key) return s;
      for (const t of s.tasks) {
        const hit = walk(t.slots);
        if (hit) return hit;
      }
    }
    return null;
  };
  return walk(model.slots);
}

/** The task a server problem path (`tasks[1].tasks[0].level`) is about: the deepest task prefix. */
export function taskForProblemPath(model: FlowModel, problemPath: string): TaskInfo | null {
  let best: TaskInfo | null = null;
  let bestLen = -1;
  for (const t of model.tasks) {
    const key = pathKey(t.path);
    if ((problemPath === key || problemPath.startsWith(`${key}.`) || problemPath.startsWith(`${key}[`)) && key.length > bestLen) {
      best = t;
      bestLen = key.length;
    }
  }
  return best;
}
