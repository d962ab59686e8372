/**
 * Layered layout of a FlowGraph with dagre's compound mode: clusters become parent nodes, so
 * Parallel/Switch/ForEach bodies stay inside their box and dagre routes edges around them.
 *
 * Positions are never stored in the YAML (EDITOR.md §3a): the layout is recomputed from the
 * graph, and callers skip the work when the graph's structure did not change.
 */

import dagre from "@dagrejs/dagre";

import {
  type FlowGraph,
  type GraphCluster,
  type GraphEdge,
  type GraphNode,
  type NodeKind,
  clusterSubtitle,
  clusterTitle,
  nodeKind,
} from "./graph";
import { wrappedLayout } from "./wrap";

export type Direction = "LR" | "TB";

export interface PlacedNode {
  node: GraphNode;
  kind: NodeKind;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedCluster {
  cluster: GraphCluster;
  title: string;
  subtitle: string;
  depth: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  edge: GraphEdge;
  points: { x: number; y: number }[];
  label: string | null;
  labelX: number;
  labelY: number;
  labelWidth: number;
  /** Draw as straight segments (routes between wrapped lines), not as a smoothed curve. */
  straight?: boolean;
}

export interface Layout {
  nodes: PlacedNode[];
  clusters: PlacedCluster[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 196;
export const NODE_HEIGHT = 48;
const DOT = 14;
/** Extra layout room around each node (not drawn) so cluster titles never sit on a node. */
const NODE_MARGIN = 12;
const CHAR_WIDTH = 6.6;

function size(kind: NodeKind): [number, number] {
  if (kind === "start" || kind === "end") return [DOT + 4, DOT + 4];
  if (kind === "dot-start" || kind === "dot-end") return [DOT, DOT];
  return [NODE_WIDTH, NODE_HEIGHT];
}

/** The label on an edge: the branch value of CHOICE edges (Switch cases, If then/else). */
function edgeLabel(edge: GraphEdge): string | null {
  const rel = edge.relation;
  if (!rel?.value) return null;
  if (rel.relationType === "CHOICE") return rel.value;
  return null;
}

/** The layout of a flow graph: a long top-level sequence wraps into lines (wrap.ts). */
export function layoutGraph(graph: FlowGraph, direction: Direction): Layout {
  return wrappedLayout(graph, direction, dagreLayout) ?? dagreLayout(graph, direction);
}

function dagreLayout(graph: FlowGraph, direction: Direction): Layout {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({
    rankdir: direction,
    nodesep: direction === "LR" ? 22 : 30,
    // Compound graphs multiply ranks (dagre's nesting graph puts 2·depth+1 ranks per edge and
    // each rank adds `ranksep`), so a small value still gives ~45 px between tasks.
    ranksep: 14,
    edgesep: 26,
    marginx: 16,
    marginy: 16,
  });
  g.setDefaultEdgeLabel(() => ({}));

  const clusters = graph.clusters ?? [];
  const flowableUids = new Set<string>();
  for (const c of clusters) if (c.cluster.taskNode?.uid) flowableUids.add(c.cluster.taskNode.uid);

  const kinds = new Map<string, NodeKind>();
  const known = new Set<string>();
  for (const node of graph.nodes) {
    const kind = nodeKind(node, flowableUids);
    kinds.set(node.uid, kind);
    known.add(node.uid);
    const [w, h] = size(kind);
    const margin = w > DOT + 4 ? NODE_MARGIN : 0;
    g.setNode(node.uid, { width: w + (direction === "TB" ? margin : 0), height: h + (direction === "LR" ? margin : 0) });
  }

  // Clusters: the innermost cluster that lists a member is its parent (members may be nodes or
  // nested cluster uids; `parents` gives the depth).
  const clusterUids = new Set(clusters.map((c) => c.cluster.uid));
  const depthOf = new Map(clusters.map((c) => [c.cluster.uid, c.parents?.length ?? 0]));
  for (const c of clusters) g.setNode(c.cluster.uid, {});
  const parentOf = new Map<string, string>();
  for (const c of clusters) {
    const depth = depthOf.get(c.cluster.uid) ?? 0;
    for (const member of c.nodes) {
      if (!known.has(member) && !clusterUids.has(member)) continue;
      if (member === c.cluster.uid) continue;
      const current = parentOf.get(member);
      if (current === undefined || (depthOf.get(current) ?? 0) < depth) parentOf.set(member, c.cluster.uid);
    }
  }
  for (const [child, parent] of parentOf) g.setParent(child, parent);
  // A cluster with no member would be laid out as a zero-size node: drop it.
  for (const c of clusters) if (!g.children(c.cluster.uid)?.length) g.removeNode(c.cluster.uid);

  graph.edges.forEach((edge, i) => {
    if (!known.has(edge.source) || !known.has(edge.target)) return;
    const label = edgeLabel(edge);
    const config: Record<string, unknown> = { minlen: 1 };
    if (label) Object.assign(config, { width: Math.min(160, label.length * CHAR_WIDTH + 14), height: 18, labelpos: "c" });
    g.setEdge(edge.source, edge.target, config, String(i));
  });

  dagre.layout(g);

  const placedNodes: PlacedNode[] = graph.nodes.map((node) => {
    const kind = kinds.get(node.uid) ?? "task";
    const pos = g.node(node.uid);
    const [w, h] = size(kind);
    return { node, kind, x: pos.x, y: pos.y, width: w, height: h };
  });

  const placedClusters: PlacedCluster[] = clusters
    .filter((c) => g.hasNode(c.cluster.uid))
    .map((c) => {
      const pos = g.node(c.cluster.uid);
      return {
        cluster: c,
        title: clusterTitle(c),
        subtitle: clusterSubtitle(c),
        depth: depthOf.get(c.cluster.uid) ?? 0,
        x: pos.x,
        y: pos.y,
        width: pos.width,
        height: pos.height,
      };
    })
    .sort((a, b) => a.depth - b.depth);

  const placedEdges: PlacedEdge[] = [];
  for (const e of g.edges()) {
    const data = g.edge(e);
    const edge = graph.edges[Number(e.name)];
    if (!edge) continue;
    const label = edgeLabel(edge);
    placedEdges.push({
      edge,
      points: data.points ?? [],
      label,
      labelX: (data.x as number | undefined) ?? 0,
      labelY: (data.y as number | undefined) ?? 0,
      labelWidth: (data.width as number | undefined) ?? 0,
    });
  }

  const box = g.graph();
  return {
    nodes: placedNodes,
    clusters: placedClusters,
    edges: placedEdges,
    width: box.width ?? 0,
    height: box.height ?? 0,
  };
}
