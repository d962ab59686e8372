/**
 * The canvas: React Flow over the laid-out picture. It never edits YAML itself; every gesture
 * (drop a type, drag a task somewhere, connect two handles, delete an edge) is turned into an
 * intent for `App`, which runs the matching operation in `ops.ts`. After an edit the layout is
 * recomputed, so a dragged task snaps to where the YAML now puts it.
 */

import {
  applyNodeChanges, Background, type Connection, Controls, type Edge, type FitViewOptions, MarkerType, MiniMap, type Node, type NodeChange,
  ReactFlow, type ReactFlowInstance, useOnSelectionChange,
} from "@xyflow/react";
import { type DragEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";

import { edgeTypes } from "./edges";
import type { Box as LayoutBox, Routes } from "./layout";
import type { BoxData, Link, Picture } from "./graph";
import type { Path } from "./model";
import { ActionsContext, type CanvasActions, nodeTypes } from "./nodes";

export interface DropTarget {
  slotPath: Path;
  index: number;
}

/** Below this zoom a task's label is unreadable: a flow that would need it opens on its first tasks. */
export const READABLE_ZOOM = 0.6;

/**
 * Fit options leaving room for the properties panel when it is open (it overlays the canvas's
 * right side); `nodes` restricts the fit to those nodes (the selection).
 */
export function fitOptions(nodes?: { id: string }[]): FitViewOptions {
  const side = document.querySelector(".fe-canvas-wrap > .fe-side");
  const right = side ? side.getBoundingClientRect().width + 24 : 24;
  return { padding: { top: "24px", bottom: "24px", left: "24px", right: `${right}px` }, maxZoom: 1, nodes };
}

const MINIMAP_MAX_BOXES = 400;

export const PALETTE_MIME = "application/x-weir-task-type";

interface Props {
  picture: Picture;
  positions: Record<string, LayoutBox> | null;
  /** ELK's edge routes for `positions` (edges missing here are drawn handle to handle). */
  routes: Routes;
  dark: boolean;
  actions: CanvasActions;
  selected: ReadonlySet<string>;
  onSelect: (taskIds: string[], edgeIds: string[]) => void;
  onDropType: (type: string, target: DropTarget) => void;
  onMove: (taskId: string, target: DropTarget) => void;
  onConnect: (source: string, target: string) => void;
  onOpen: (taskId: string) => void;
  onReady: (rf: ReactFlowInstance) => void;
}

interface Abs {
  x: number;
  y: number;
  w: number;
  h: number;
}

function absolute(picture: Picture, positions: Record<string, LayoutBox>): Map<string, Abs> {
  const out = new Map<string, Abs>();
  for (const b of picture.boxes) {
    const p = positions[b.id];
    if (!p) continue;
    const parent = b.parent ? out.get(b.parent) : null;
    out.set(b.id, { x: p.x + (parent?.x ?? 0), y: p.y + (parent?.y ?? 0), w: p.w, h: p.h });
  }
  return out;
}

function within(p: { x: number; y: number }, a: Abs): boolean {
  return p.x >= a.x && p.x <= a.x + a.w && p.y >= a.y && p.y <= a.y + a.h;
}

/** The list and index a point on the canvas designates (the deepest box holding a list). */
export function dropTargetAt(picture: Picture, positions: Record<string, LayoutBox>, p: { x: number; y: number }, exclude?: string): DropTarget {
  const abs = absolute(picture, positions);
  const excluded = new Set<string>();
  if (exclude) {
    excluded.add(exclude);
    for (const b of picture.boxes) if (b.parent && excluded.has(b.parent)) excluded.add(b.id);
  }
  let container: { id: string; slot: Path; depth: number } | null = null;
  const depth = (id: string): number => {
    let d = 0;
    for (let b = picture.boxes.find((x) => x.id === id); b?.parent; b = picture.boxes.find((x) => x.id === b?.parent)) d++;
    return d;
  };
  for (const b of picture.boxes) {
    if (excluded.has(b.id) || !b.data.slotPath || b.data.kind === "task") continue;
    const a = abs.get(b.id);
    if (!a || !within(p, a)) continue;
    const d = depth(b.id);
    if (!container || d > container.depth) container = { id: b.id, slot: b.data.slotPath, depth: d };
  }
  const slotPath = container?.slot ?? ["tasks"];
  const key = JSON.stringify(slotPath);
  const children = picture.boxes.filter((b) => b.data.kind !== "lane" && JSON.stringify(b.data.parentSlot) === key && !excluded.has(b.id));
  let index = 0;
  for (const c of children) {
    const a = abs.get(c.id);
    if (!a) continue;
    // On a task: its lower or right half means "after it". Elsewhere: below it, or beside it on its right.
    const after = within(p, a)
      ? p.y > a.y + a.h / 2 || p.x > a.x + a.w / 2
      : p.y > a.y + a.h || (p.y >= a.y && p.x > a.x + a.w / 2);
    if (after) index++;
  }
  if (exclude) {
    // `index` counts siblings without the moved task; ops.moveTask counts with it.
    const all = picture.boxes.filter((b) => b.data.kind !== "lane" && JSON.stringify(b.data.parentSlot) === key);
    const selfIndex = all.findIndex((b) => b.id === exclude);
    if (selfIndex >= 0 && index >= selfIndex) index++;
  }
  return { slotPath, index };
}

function toNodes(picture: Picture, positions: Record<string, LayoutBox> | null, previous: Map<string, Node>, selected: ReadonlySet<string>): Node[] {
  return picture.boxes.map((b) => {
    const p = positions?.[b.id] ?? (previous.get(b.id)?.position ? { ...previous.get(b.id)?.position, w: 220, h: 58 } : null);
    const container = b.data.kind !== "task";
    const node: Node = {
      id: b.id,
      type: b.data.kind === "group" ? "flowgroup" : b.data.kind,
      position: { x: p?.x ?? 0, y: p?.y ?? 0 },
      data: b.data,
      parentId: b.parent ?? undefined,
      selected: !!b.data.taskId && selected.has(b.data.taskId),
      selectable: b.data.kind !== "lane",
      draggable: b.data.kind !== "lane",
      connectable: true,
      style: container && p ? { width: (p as LayoutBox).w, height: (p as LayoutBox).h } : undefined,
      width: p && "w" in p ? (p as LayoutBox).w : undefined,
      height: p && "h" in p ? (p as LayoutBox).h : undefined,
      zIndex: container ? -1 : 1,
    };
    return node;
  });
}

function toEdges(links: Link[], selectedEdges: ReadonlySet<string>, routes: Routes): Edge[] {
  return links.map((l) => ({
    id: l.id,
    source: l.source,
    target: l.target,
    type: routes[l.id] ? "routed" : "smoothstep",
    selectable: l.dep,
    deletable: l.dep,
    selected: selectedEdges.has(l.id),
    className: l.dep ? "fe-edge fe-edge--dep" : "fe-edge",
    markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
    ariaLabel: l.dep ? `${l.target.slice(2)} depends on ${l.source.slice(2)}` : `${l.source.slice(2)} then ${l.target.slice(2)}`,
    data: { slotPath: l.slotPath, index: l.index, points: routes[l.id] },
  }));
}

export function Canvas(props: Props) {
  const { picture, positions, dark } = props;
  const [nodes, setNodes] = useState<Node[]>([]);
  const [selectedEdges, setSelectedEdges] = useState<ReadonlySet<string>>(new Set());
  const previous = useRef(new Map<string, Node>());
  const wrapper = useRef<HTMLDivElement>(null);
  const rf = useRef<ReactFlowInstance | null>(null);

  // Fit once, when the first computed layout arrives (later edits keep the user's viewport).
  const fitted = useRef(false);
  useEffect(() => {
    if (!positions || fitted.current || !rf.current) return;
    fitted.current = true;
    // A flow that fits at a readable zoom opens whole; a bigger one opens on its first tasks
    // (top left) at a readable zoom, not as a whole-graph thumbnail. "Fit" still shows it all.
    const top = picture.boxes.filter((b) => !b.parent).map((b) => positions[b.id]).filter((p) => !!p);
    const minX = Math.min(...top.map((p) => p.x));
    const minY = Math.min(...top.map((p) => p.y));
    const w = Math.max(...top.map((p) => p.x + p.w)) - minX;
    const h = Math.max(...top.map((p) => p.y + p.h)) - minY;
    const el = wrapper.current;
    const availW = (el?.clientWidth ?? 800) - 48;
    const availH = (el?.clientHeight ?? 600) - 48;
    const whole = Math.min(availW / Math.max(w, 1), availH / Math.max(h, 1), 1);
    requestAnimationFrame(() => {
      if (!top.length || whole >= READABLE_ZOOM) void rf.current?.fitView(fitOptions());
      else void rf.current?.setViewport({ x: 24 - minX * READABLE_ZOOM, y: 24 - minY * READABLE_ZOOM, zoom: READABLE_ZOOM });
    });
  }, [positions, nodes, picture.boxes]);

  useEffect(() => {
    const next = toNodes(picture, positions, previous.current, props.selected);
    previous.current = new Map(next.map((n) => [n.id, n]));
    setNodes(next);
  }, [picture, positions, props.selected]);

  const edges = useMemo(() => toEdges(picture.links, selectedEdges, props.routes), [picture.links, selectedEdges, props.routes]);
  const byId = useMemo(() => new Map(picture.boxes.map((b) => [b.id, b])), [picture.boxes]);

  const onNodesChange = useCallback((changes: NodeChange[]) => {
    setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), ns));
  }, []);

  // React Flow reports the selection again whenever the nodes are rebuilt (which a selection
  // change itself causes, through `props.selected`): act only on a real change, or the two
  // feed each other until React gives up ("Maximum update depth exceeded").
  const lastSelection = useRef("");
  useOnSelectionChange({
    onChange: useCallback(
      ({ nodes: sel, edges: selE }: { nodes: Node[]; edges: Edge[] }) => {
        const ids = sel.map((n) => (n.data as BoxData).taskId).filter((x): x is string => !!x);
        const edgeIds = selE.map((e) => e.id);
        const key = `${ids.join("\u0000")}|${edgeIds.join("\u0000")}`;
        if (key === lastSelection.current) return;
        lastSelection.current = key;
        setSelectedEdges(new Set(edgeIds));
        props.onSelect(ids, edgeIds);
      },
      [props.onSelect],
    ),
  });

  const flowPoint = (clientX: number, clientY: number) => rf.current?.screenToFlowPosition({ x: clientX, y: clientY }) ?? { x: 0, y: 0 };

  const edgeAt = (clientX: number, clientY: number): Link | null => {
    for (const el of document.elementsFromPoint(clientX, clientY)) {
      const edge = el.closest(".react-flow__edge");
      const id = edge?.getAttribute("data-id");
      if (id) return picture.links.find((l) => l.id === id) ?? null;
    }
    return null;
  };

  const onDragOver = (e: DragEvent) => {
    if (!e.dataTransfer.types.includes(PALETTE_MIME) && !e.dataTransfer.types.includes("text/plain")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  };

  const onDrop = (e: DragEvent) => {
    if ((e.target as HTMLElement).closest(".fe-side")) return;
    const type = e.dataTransfer.getData(PALETTE_MIME) || e.dataTransfer.getData("text/plain");
    if (!type || !/^[\w.]+$/.test(type)) return;
    e.preventDefault();
    const edge = edgeAt(e.clientX, e.clientY);
    if (edge && !edge.dep) {
      props.onDropType(type, { slotPath: edge.slotPath, index: edge.index });
      return;
    }
    props.onDropType(type, positions ? dropTargetAt(picture, positions, flowPoint(e.clientX, e.clientY)) : { slotPath: ["tasks"], index: 1e9 });
  };

  const onNodeDragStop = (e: MouseEvent | TouchEvent, node: Node) => {
    const pt = "changedTouches" in e ? e.changedTouches[0] : e;
    const data = node.data as BoxData;
    if (!data.taskId || !positions) return;
    const target = dropTargetAt(picture, positions, flowPoint(pt.clientX, pt.clientY), node.id);
    props.onMove(data.taskId, target);
    // Snap back to the computed layout (the YAML decides where the task now is).
    setNodes(toNodes(picture, positions, previous.current, props.selected));
  };

  const onConnect = (c: Connection) => {
    const s = byId.get(c.source)?.data.taskId;
    const t = byId.get(c.target)?.data.taskId;
    if (s && t) props.onConnect(s, t);
  };

  return (
    <ActionsContext.Provider value={props.actions}>
      <div className="fe-canvas" ref={wrapper} onDragOver={onDragOver} onDrop={onDrop}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          onNodesChange={onNodesChange}
          onEdgeClick={(_e, edge) => setSelectedEdges(new Set([edge.id]))}
          onConnect={onConnect}
          onNodeDragStop={onNodeDragStop}
          onNodeDoubleClick={(_e, n) => (n.data as BoxData).taskId && props.onOpen((n.data as BoxData).taskId as string)}
          onInit={(inst) => {
            rf.current = inst;
            props.onReady(inst);
          }}
          onlyRenderVisibleElements
          deleteKeyCode={null}
          multiSelectionKeyCode={["Shift", "Meta", "Control"]}
          selectionKeyCode="Shift"
          colorMode={dark ? "dark" : "light"}
          minZoom={0.1}
          maxZoom={2}
          proOptions={{ hideAttribution: true }}
          ariaLabelConfig={{ "controls.ariaLabel": "Canvas zoom controls" }}
        >
          <Background gap={20} size={1} />
          {/* The minimap redraws every box on each pan frame: a big flow pans without it. */}
          {picture.boxes.length <= MINIMAP_MAX_BOXES ? <MiniMap pannable zoomable ariaLabel="Minimap" nodeStrokeWidth={2} /> : null}
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </ActionsContext.Provider>
  );
}
