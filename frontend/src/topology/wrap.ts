/**
 * Long flows wrap, as lines of text do: a top-level sequence of more than `WRAP_ABOVE` steps is cut
 * into rows (left to right) or columns (top to bottom) whose overall shape is about `ASPECT`, so
 * that "Fit" shows a 150-task flow inside the window instead of a strip 36 000 px long. The editor
 * canvas wraps long lists the same way (flow-editor/flowlayout.ts).
 *
 * The unit of wrapping is a top-level step: a top-level node, or a top-level cluster (a Parallel,
 * a Switch…) with everything nested in it. Each step is laid out on its own (dagre for clusters),
 * steps sit in line along the flow's direction, and edges between steps are routed here: straight
 * within a row, and through the gap between rows when they go from one row to another. Steps of
 * the `errors`/`finally` branches go on a row of their own after the main sequence.
 */

import type { FlowGraph, GraphCluster, GraphEdge } from "./graph";
import type { Direction, Layout, PlacedEdge } from "./layout";

/** Flows with at most this many top-level steps keep their single-line layout. */
export const WRAP_ABOVE = 12;
/** The wrapped graph aims at this width / height (a landscape window). */
const ASPECT = 1.6;
const STEP_GAP = 44;
const LINE_GAP = 64;
const MARGIN = 16;
const SIDE_RELATIONS = new Set(["ERROR", "FINALLY"]);

type LayoutPart = (graph: FlowGraph, direction: Direction) => Layout;

interface Step {
  id: string;
  layout: Layout;
  /** Offset of the step's layout inside the whole graph. */
  dx: number;
  dy: number;
  line: number;
}

/** The top-level cluster uid of each cluster (itself when it has no parent cluster). */
function topClusters(clusters: GraphCluster[]): Map<string, string> {
  const known = new Set(clusters.map((c) => c.cluster.uid));
  const top = new Map<string, string>();
  for (const c of clusters) {
    const outer = (c.parents ?? []).filter((p) => known.has(p));
    // `parents` lists the enclosing clusters; the outermost one is the one without parents itself.
    const root = outer.find((p) => !(clusters.find((x) => x.cluster.uid === p)?.parents ?? []).length) ?? c.cluster.uid;
    top.set(c.cluster.uid, root);
  }
  return top;
}

/** The step each node belongs to. */
function stepsOf(graph: FlowGraph): Map<string, string> {
  const clusters = graph.clusters ?? [];
  const top = topClusters(clusters);
  const stepOf = new Map<string, string>();
  // Deeper clusters first, so a node listed by several clusters gets its outermost one last.
  const byDepth = [...clusters].sort((a, b) => (b.parents?.length ?? 0) - (a.parents?.length ?? 0));
  for (const c of byDepth) for (const member of c.nodes) stepOf.set(member, top.get(c.cluster.uid) ?? c.cluster.uid);
  for (const n of graph.nodes) if (!stepOf.has(n.uid)) stepOf.set(n.uid, n.uid);
  return stepOf;
}

/** Steps in flow order (a topological order that follows the main sequence), and the side ones. */
function orderSteps(ids: string[], edges: [string, string, GraphEdge][]): { main: string[]; side: string[] } | null {
  const next = new Map<string, string[]>(ids.map((id) => [id, []]));
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  const sideStarts: string[] = [];
  for (const [a, b, edge] of edges) {
    next.get(a)?.push(b);
    indegree.set(b, (indegree.get(b) ?? 0) + 1);
    if (SIDE_RELATIONS.has(edge.relation?.relationType ?? "")) sideStarts.push(b);
  }
  const order: string[] = [];
  const ready = ids.filter((id) => !indegree.get(id));
  while (ready.length) {
    const id = ready.shift() as string;
    order.push(id);
    for (const b of next.get(id) ?? []) {
      const left = (indegree.get(b) ?? 0) - 1;
      indegree.set(b, left);
      if (left === 0) ready.push(b);
    }
  }
  if (order.length !== ids.length) return null; // a cycle: leave the graph to dagre
  // Side steps: reachable from an errors/finally edge without passing the flow's end.
  const end = order[order.length - 1];
  const side = new Set<string>();
  const stack = [...sideStarts];
  while (stack.length) {
    const id = stack.pop() as string;
    if (id === end || side.has(id)) continue;
    side.add(id);
    stack.push(...(next.get(id) ?? []));
  }
  return { main: order.filter((id) => !side.has(id)), side: order.filter((id) => side.has(id)) };
}

function subgraph(graph: FlowGraph, step: string, stepOf: Map<string, string>, topOf: Map<string, string>): FlowGraph {
  const nodes = graph.nodes.filter((n) => stepOf.get(n.uid) === step);
  const inside = new Set(nodes.map((n) => n.uid));
  return {
    nodes,
    edges: graph.edges.filter((e) => inside.has(e.source) && inside.has(e.target)),
    clusters: (graph.clusters ?? []).filter((c) => topOf.get(c.cluster.uid) === step),
  };
}

/** Split `sizes` (lengths along the flow) into lines of about `target` each, in order. */
function splitLines(sizes: number[], target: number): number[][] {
  const lines: number[][] = [[]];
  let used = 0;
  sizes.forEach((size, i) => {
    const line = lines[lines.length - 1];
    if (line.length && used + size > target) {
      lines.push([i]);
      used = size + STEP_GAP;
    } else {
      line.push(i);
      used += size + STEP_GAP;
    }
  });
  return lines;
}

export function wrappedLayout(graph: FlowGraph, direction: Direction, layoutPart: LayoutPart): Layout | null {
  const stepOf = stepsOf(graph);
  const ids = [...new Set(graph.nodes.map((n) => stepOf.get(n.uid) as string))];
  if (ids.length <= WRAP_ABOVE) return null;
  const crossing: [string, string, GraphEdge][] = [];
  const seen = new Set<string>();
  for (const e of graph.edges) {
    const a = stepOf.get(e.source);
    const b = stepOf.get(e.target);
    if (!a || !b || a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    crossing.push([a, b, e]);
  }
  const ordered = orderSteps(ids, crossing);
  if (!ordered) return null;

  const lr = direction === "LR";
  const topOf = topClusters(graph.clusters ?? []);
  const layouts = new Map(ids.map((id) => [id, layoutPart(subgraph(graph, id, stepOf, topOf), direction)]));
  // "Along" is the flow's direction (x for LR), "across" the other one.
  const along = (l: Layout) => (lr ? l.width : l.height);
  const across = (l: Layout) => (lr ? l.height : l.width);

  const mainLayouts = ordered.main.map((id) => layouts.get(id) as Layout);
  const total = mainLayouts.reduce((s, l) => s + along(l) + STEP_GAP, 0);
  const thickness = mainLayouts.reduce((s, l) => s + across(l), 0) / Math.max(1, mainLayouts.length) + LINE_GAP;
  // k lines of length total/k and thickness k·t: LR wants (total/k)/(k·t) = ASPECT, TB (k·t)/(total/k) = ASPECT.
  const count = Math.max(1, Math.round(Math.sqrt(lr ? total / (ASPECT * thickness) : (ASPECT * total) / thickness)));
  const lines = splitLines(mainLayouts.map(along), total / count).map((line) => line.map((i) => ordered.main[i]));
  if (ordered.side.length) lines.push(ordered.side);

  // Place the lines one after the other; steps in a line are centred on the line's axis.
  const steps = new Map<string, Step>();
  let offset = MARGIN;
  let extent = 0;
  lines.forEach((line, index) => {
    const thick = Math.max(...line.map((id) => across(layouts.get(id) as Layout)));
    let pos = MARGIN;
    for (const id of line) {
      const l = layouts.get(id) as Layout;
      const shift = offset + (thick - across(l)) / 2;
      steps.set(id, { id, layout: l, dx: lr ? pos : shift, dy: lr ? shift : pos, line: index });
      pos += along(l) + STEP_GAP;
    }
    extent = Math.max(extent, pos - STEP_GAP + MARGIN);
    offset += thick + LINE_GAP;
  });
  const breadth = offset - LINE_GAP + MARGIN;

  const out: Layout = { nodes: [], clusters: [], edges: [], width: lr ? extent : breadth, height: lr ? breadth : extent };
  const where = new Map<string, { x: number; y: number; w: number; h: number; line: number }>();
  for (const s of steps.values()) {
    for (const n of s.layout.nodes) {
      const placed = { ...n, x: n.x + s.dx, y: n.y + s.dy };
      out.nodes.push(placed);
      where.set(n.node.uid, { x: placed.x, y: placed.y, w: n.width, h: n.height, line: s.line });
    }
    for (const c of s.layout.clusters) out.clusters.push({ ...c, x: c.x + s.dx, y: c.y + s.dy });
    for (const e of s.layout.edges) {
      out.edges.push({ ...e, points: e.points.map((p) => ({ x: p.x + s.dx, y: p.y + s.dy })), labelX: e.labelX + s.dx, labelY: e.labelY + s.dy });
    }
  }
  out.clusters.sort((a, b) => a.depth - b.depth);
  // Where each line starts and ends across the flow (for routes through the gaps between lines).
  const lineEdges = lines.map((line) => {
    const spans = line.map((id) => {
      const s = steps.get(id) as Step;
      return lr ? [s.dy, s.dy + s.layout.height] : [s.dx, s.dx + s.layout.width];
    });
    return { start: Math.min(...spans.map((x) => x[0])), end: Math.max(...spans.map((x) => x[1])) };
  });
  for (const e of graph.edges) {
    if (stepOf.get(e.source) === stepOf.get(e.target)) continue;
    const a = where.get(e.source);
    const b = where.get(e.target);
    if (!a || !b) continue;
    out.edges.push(route(e, a, b, lr, lineEdges));
  }
  return out;
}

type Spot = { x: number; y: number; w: number; h: number; line: number };

/** An edge between two steps: straight within a line, else out of the source, through the gap
 * after its line, back to the start of the target's line and in (drawn with straight segments). */
function route(edge: GraphEdge, a: Spot, b: Spot, lr: boolean, lines: { start: number; end: number }[]): PlacedEdge {
  // Work in (along, across) coordinates, then map back.
  const P = (u: number, v: number) => (lr ? { x: u, y: v } : { x: v, y: u });
  const [au, av, aLen] = lr ? [a.x, a.y, a.w] : [a.y, a.x, a.h];
  const [bu, bv, bLen] = lr ? [b.x, b.y, b.w] : [b.y, b.x, b.h];
  const out = au + aLen / 2;
  const into = bu - bLen / 2;
  let points: { x: number; y: number }[];
  if (a.line === b.line && into >= out) {
    const mid = (out + into) / 2;
    points = av === bv ? [P(out, av), P(into, bv)] : [P(out, av), P(mid, av), P(mid, bv), P(into, bv)];
  } else {
    const down = b.line > a.line;
    const gap = down ? lines[a.line].end + LINE_GAP / 2 : lines[a.line].start - LINE_GAP / 2;
    const before = Math.max(MARGIN / 2, into - STEP_GAP / 2);
    points = [P(out, av), P(out + STEP_GAP / 2, av), P(out + STEP_GAP / 2, gap), P(before, gap), P(before, bv), P(into, bv)];
  }
  return { edge, points, label: null, labelX: 0, labelY: 0, labelWidth: 0, straight: true };
}
