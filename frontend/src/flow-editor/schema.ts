/**
 * The plugin catalog the palette and the property form need, read from the whole-flow JSON
 * Schema (`/api/v1/plugins/schemas/flow`): task types grouped by package, their docs, and each
 * property resolved to one widget kind (KESTRA.md §9.3: enum → select, boolean → switch…).
 */

import { api } from "../lib/api";

export type Json = Record<string, unknown>;

export interface TaskType {
  type: string;
  name: string;
  group: string;
  title: string;
  docs: string;
  flowable: boolean;
  deprecated: boolean;
  /** A trigger type (it goes under `triggers:`), not a task. */
  trigger: boolean;
  def: Json;
}

export interface Catalog {
  schema: Json;
  tasks: TaskType[];
  triggers: TaskType[];
  byType: Map<string, TaskType>;
}

export type FieldKind = "string" | "expression" | "duration" | "integer" | "number" | "boolean" | "enum" | "list" | "map" | "object" | "yaml";

export interface Field {
  key: string;
  title: string;
  description: string;
  required: boolean;
  kind: FieldKind;
  options?: string[];
  fields?: Field[];
  defaultValue?: unknown;
}

/** Properties the canvas edits itself (structure, identity) rather than the form. */
const STRUCTURAL = new Set(["id", "type", "tasks", "then", "else", "cases", "defaults", "errors", "finally", "dependsOn"]);

export function isObj(v: unknown): v is Json {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function deref(schema: Json, node: unknown, depth = 0): Json {
  if (!isObj(node) || depth > 10) return {};
  if (typeof node.$ref === "string") {
    let cur: unknown = schema;
    for (const part of node.$ref.replace(/^#\//, "").split("/")) cur = isObj(cur) ? cur[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    const { $ref: _ignored, ...rest } = node;
    void _ignored;
    return { ...deref(schema, cur, depth + 1), ...rest };
  }
  return node;
}

/** `anyOf: [X, {type: null}]` → X, keeping the outer title/description/default. */
function unwrap(schema: Json, prop: Json): Json {
  const node = deref(schema, prop);
  const alts = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (Array.isArray(alts)) {
    const real = alts.map((a) => deref(schema, a)).filter((a) => a.type !== "null");
    if (real.length === 1) {
      const { anyOf: _a, oneOf: _o, ...outer } = node;
      void _a;
      void _o;
      return { ...real[0], ...outer };
    }
  }
  return node;
}

function fieldOf(schema: Json, key: string, raw: Json, required: boolean, depth: number): Field {
  const p = unwrap(schema, raw);
  const base = {
    key,
    title: str(p.title) || key,
    description: str(p.description) || str(p.markdownDescription),
    required,
    defaultValue: p.default,
  };
  if (Array.isArray(p.enum)) return { ...base, kind: "enum", options: p.enum.map(String) };
  if (p.type === "boolean") return { ...base, kind: "boolean" };
  if (p.type === "integer") return { ...base, kind: "integer" };
  if (p.type === "number") return { ...base, kind: "number" };
  if (p.type === "string") {
    if (p.format === "duration") return { ...base, kind: "duration" };
    return { ...base, kind: p.$dynamic ? "expression" : "string" };
  }
  if (p.type === "array") {
    const items = unwrap(schema, isObj(p.items) ? p.items : {});
    if (items.type === "string" || items.type === "integer" || items.type === "number") return { ...base, kind: "list" };
    return { ...base, kind: "yaml" };
  }
  if (p.type === "object" || isObj(p.properties) || p.additionalProperties) {
    if (isObj(p.properties) && Object.keys(p.properties).length && depth < 3) {
      const req = new Set(Array.isArray(p.required) ? p.required.map(String) : []);
      const fields = Object.entries(p.properties).map(([k, v]) => fieldOf(schema, k, v as Json, req.has(k), depth + 1));
      return { ...base, kind: "object", fields };
    }
    const values = isObj(p.additionalProperties) ? unwrap(schema, p.additionalProperties) : {};
    if (!values.type || values.type === "string") return { ...base, kind: "map" };
    return { ...base, kind: "yaml" };
  }
  // A message that may be a string or a list, a oneOf of retry kinds…: edit it as YAML.
  const alts = (p.anyOf ?? p.oneOf) as unknown[] | undefined;
  if (Array.isArray(alts) && alts.map((a) => deref(schema, a)).some((a) => a.type === "string") && p.$dynamic) {
    return { ...base, kind: "expression" };
  }
  return { ...base, kind: "yaml" };
}

/** The form fields of a task type, required ones first, structural keys left to the canvas. */
export function fieldsOf(catalog: Catalog, type: string): Field[] {
  const t = catalog.byType.get(type);
  if (!t) return [];
  const props = isObj(t.def.properties) ? t.def.properties : {};
  const req = new Set(Array.isArray(t.def.required) ? t.def.required.map(String) : []);
  const fields = Object.entries(props)
    .filter(([k, v]) => !STRUCTURAL.has(k) && !(isObj(v) && v.$slot))
    .map(([k, v]) => fieldOf(catalog.schema, k, v as Json, req.has(k), 0));
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

function typesOf(schema: Json, union: Json, trigger: boolean, byType: Map<string, TaskType>): TaskType[] {
  const members = (Array.isArray(union.anyOf) ? union.anyOf : Array.isArray(union.oneOf) ? union.oneOf : []) as unknown[];
  const out: TaskType[] = [];
  for (const m of members) {
    const def = deref(schema, m);
    const typeProp = isObj(def.properties) ? deref(schema, def.properties.type) : {};
    const type = Array.isArray(typeProp.enum) ? String(typeProp.enum[0]) : str(typeProp.const);
    if (!type || byType.has(type)) continue;
    const props = isObj(def.properties) ? def.properties : {};
    const flowable = Object.values(props).some((p) => isObj(p) && typeof p.$slot === "string" && String(p.$slot).startsWith("tasks"));
    const title = str(def.title);
    const t: TaskType = {
      type,
      name: type.slice(type.lastIndexOf(".") + 1),
      group: type.slice(0, type.lastIndexOf(".")).replace(/^io\.kestra\.plugin\./, ""),
      title,
      docs: str(def.markdownDescription) || str(def.description),
      flowable,
      deprecated: /deprecated/i.test(title) || def.$deprecated === true,
      trigger,
      def,
    };
    out.push(t);
    byType.set(type, t);
  }
  // Triggers share one palette group: two types with one short name (http.Trigger and
  // postgresql.Trigger) would read as the same entry twice, so those show their family too.
  if (trigger) {
    const count = new Map<string, number>();
    for (const t of out) count.set(t.name, (count.get(t.name) ?? 0) + 1);
    for (const t of out) if ((count.get(t.name) ?? 0) > 1) t.name = t.type.split(".").slice(-2).join(".");
  }
  out.sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
  return out;
}

export function buildCatalog(schema: Json): Catalog {
  const defs = isObj(schema.definitions) ? schema.definitions : {};
  const byType = new Map<string, TaskType>();
  const tasks = typesOf(schema, deref(schema, defs.Task), false, byType);
  const triggers = typesOf(schema, deref(schema, defs.Trigger), true, byType);
  return { schema, tasks, triggers, byType };
}

let pending: Promise<Catalog> | null = null;

export function loadCatalog(url: string): Promise<Catalog> {
  pending ??= api.get<Json>(url).then((r) => buildCatalog(r.data)).catch((err: unknown) => {
    pending = null;
    throw err;
  });
  return pending;
}

/**
 * The empty child lists a new task of `type` starts with: every required task slot (`tasks: []`
 * for a Parallel, `then: []` for an If), so a flowable dropped from the palette is a container
 * from the start and the next task dropped on it becomes its child. A slot that is not required
 * is left out, and an unknown type gets nothing.
 */
export function emptySlots(catalog: Catalog | null, type: string): Record<string, unknown> {
  const def = catalog?.byType.get(type)?.def;
  const props = def && isObj(def.properties) ? def.properties : {};
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(props)) {
    if (!isObj(raw) || typeof raw.$slot !== "string") continue;
    const [kind, shape] = raw.$slot.split(":");
    if (kind !== "tasks" || raw.$required !== true) continue;
    out[key] = shape === "map" ? {} : [];
  }
  return out;
}
