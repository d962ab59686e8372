/**
 * From the flow model to the canvas picture: which boxes exist (tasks, flowable groups, branch
 * lanes), which edges join them, and the ELK graph that lays them out.
 *
 * Pure functions of (model, collapsed groups, problems): the same structure always gives the same
 * layout key, which is what lets `layout.ts` cache layouts and skip them on pan or selection.
 */

import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";

import { type FlowModel, isTriggerPath, type Path, pathKey, type SlotInfo, type TaskInfo } from "./model";

export const TASK_W = 220;
export const TASK_H = 58;

export type BoxKind = "task" | "group" | "lane";

export interface BoxData extends Record<string, unknown> {
  kind: BoxKind;
  label: string;
  /** Task id (task and group boxes). */
  taskId?: string;
  type?: string;
  /** The list a drop into this box inserts into (groups with one list, lanes). */
  slotPath?: Path;
  /** The list holding this task. */
  parentSlot?: Path;
  dag?: boolean;
  dagKind?: boolean;
  collapsed?: boolean;
  childCount?: number;
  errors?: string[];
  disabled?: boolean;
  canDag?: boolean;
}

export interface Box {
  id: string;
  parent: string | null;
  data: BoxData;
}

export interface Link {
  id: string;
  source: string;
  target: string;
  /** A `dependsOn` edge (deletable) rather than an implied order. */
  dep: boolean;
  /** Where a task dropped on this edge goes. */
  slotPath: Path;
  index: number;
  label?: string;
}

export interface Picture {
  boxes: Box[];
  links: Link[];
  elk: ElkNode;
  key: string;
}

export const taskNodeId = (id: string): string => `t:${id}`;
export const laneNodeId = (path: Path): string => `l:${pathKey(path)}`;

const PARALLEL = /\.(Parallel|EachParallel)$/;

function countTasks(slots: SlotInfo[]): number {
  return slots.reduce((n, s) => n + s.tasks.reduce((m, t) => m + 1 + countTasks(t.slots), 0), 0);
}

function short(type: string): string {
  return type.slice(type.lastIndexOf(".") + 1);
}

export function buildPicture(model: FlowModel, collapsed: ReadonlySet<string>, problems: ReadonlyMap<string, string[]>): Picture {
  const boxes: Box[] = [];
  const links: Link[] = [];

  const slotEdges = (slot: SlotInfo, nodeOf: (t: TaskInfo) => string) => {
    if (slot.dag) {
      for (const t of slot.tasks) {
        for (const dep of t.dependsOn) {
          const from = slot.tasks.find((o) => o.id === dep);
          if (from) links.push({ id: `d:${dep}>${t.id}`, source: nodeOf(from), target: nodeOf(t), dep: true, slotPath: slot.path, index: t.index });
        }
      }
      return;
    }
    if (slot.owner && PARALLEL.test(slot.owner.type) && slot.label === "tasks") return;
    if (isTriggerPath(slot.path)) return; // triggers start the flow side by side: no order between them
    for (let i = 1; i < slot.tasks.length; i++) {
      const a = slot.tasks[i - 1];
      const b = slot.tasks[i];
      links.push({ id: `s:${a.id}>${b.id}`, source: nodeOf(a), target: nodeOf(b), dep: false, slotPath: slot.path, index: i });
    }
  };

  const addTask = (t: TaskInfo, parent: string | null) => {
    const id = taskNodeId(t.id);
    const isGroup = t.slots.length > 0;
    const isCollapsed = isGroup && collapsed.has(t.id);
    const onlySlot = t.slots.length === 1 && t.slots[0].label === "tasks" ? t.slots[0] : null;
    boxes.push({
      id,
      parent,
      data: {
        kind: isGroup && !isCollapsed ? "group" : "task",
        label: t.id,
        taskId: t.id,
        type: t.type,
        parentSlot: t.slot.path,
        slotPath: onlySlot?.path,
        dag: onlySlot?.dag,
        dagKind: onlySlot?.kind === "dag",
        canDag: !!onlySlot && !PARALLEL.test(t.type),
        collapsed: isCollapsed,
        childCount: isGroup ? countTasks(t.slots) : undefined,
        errors: problems.get(t.id),
        disabled: t.disabled,
      },
    });
    if (!isGroup || isCollapsed) return;
    if (onlySlot) {
      for (const c of onlySlot.tasks) addTask(c, id);
      slotEdges(onlySlot, (c) => taskNodeId(c.id));
      return;
    }
    for (const s of t.slots) addLane(s, id);
  };

  const addLane = (s: SlotInfo, parent: string | null) => {
    const id = laneNodeId(s.path);
    boxes.push({
      id,
      parent,
      data: { kind: "lane", label: s.label, slotPath: s.path, dag: s.dag, dagKind: s.kind === "dag", canDag: !isTriggerPath(s.path), childCount: s.tasks.length },
    });
    for (const c of s.tasks) addTask(c, id);
    slotEdges(s, (c) => taskNodeId(c.id));
  };

  for (const s of model.slots) {
    if (s.label === "tasks" && !s.owner) {
      for (const t of s.tasks) addTask(t, null);
      slotEdges(s, (t) => taskNodeId(t.id));
    } else {
      addLane(s, null);
    }
  }

  const elk = toElk(boxes, links);
  return { boxes, links, elk, key: JSON.stringify(elk) };
}

const ROOT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.spacing.nodeNode": "24",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.spacing.componentComponent": "36",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.crossingMinimization.forceNodeModelOrder": "true",
};

const GROUP_OPTIONS: Record<string, string> = { "elk.padding": "[top=34,left=14,bottom=14,right=14]" };

function toElk(boxes: Box[], links: Link[]): ElkNode {
  const nodes = new Map<string, ElkNode>();
  const root: ElkNode = { id: "root", layoutOptions: ROOT_OPTIONS, children: [], edges: [] };
  for (const b of boxes) {
    const leaf = b.data.kind === "task";
    const n: ElkNode = leaf
      ? { id: b.id, width: TASK_W, height: TASK_H }
      : { id: b.id, layoutOptions: GROUP_OPTIONS, children: [], width: TASK_W, height: TASK_H };
    nodes.set(b.id, n);
    const parent = b.parent ? nodes.get(b.parent) : root;
    (parent ?? root).children?.push(n);
  }
  root.edges = links.map((l): ElkExtendedEdge => ({ id: l.id, sources: [l.source], targets: [l.target] }));
  return root;
}

export function typeLabel(type: string): string {
  return short(type);
}
