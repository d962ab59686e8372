/**
 * Kestra's FlowGraph shape as Weir's API returns it (apps/flows/graph.py), plus the few facts the
 * renderer derives from it. Node kinds are read from the Java class name in `type`, the same rule
 * Kestra's UI uses, so graphs from either server render alike.
 */

export interface Relation {
  relationType: string | null;
  value: string | null;
}

export interface GraphNode {
  uid: string;
  type: string;
  label?: string | null;
  pluginType?: string | null;
  error?: boolean;
  disabled?: boolean;
  relationType?: string | null;
  branchType?: string | null;
  task?: Record<string, unknown> | null;
  triggerDeclaration?: Record<string, unknown> | null;
}

export interface GraphEdge {
  source: string;
  target: string;
  relation: Relation | null;
}

export interface GraphCluster {
  cluster: { uid: string; type?: string; relationType?: string | null; taskNode?: GraphNode | null; error?: boolean };
  nodes: string[];
  parents: string[];
  start?: string;
  end?: string;
}

export interface FlowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  clusters: GraphCluster[];
}

export type NodeKind = "start" | "end" | "dot-start" | "dot-end" | "task" | "flowable" | "trigger" | "subflow";

const CLASS = (type: string) => type.slice(type.lastIndexOf(".") + 1);

export function nodeKind(node: GraphNode, flowableUids: Set<string>): NodeKind {
  const cls = CLASS(node.type ?? "");
  if (cls === "GraphClusterRoot") return node.uid === "root._root" ? "start" : "dot-start";
  if (cls === "GraphClusterEnd") return node.uid === "root._end" ? "end" : "dot-end";
  if (cls === "GraphTrigger") return "trigger";
  if (cls === "SubflowGraphTask") return "subflow";
  if (flowableUids.has(node.uid)) return "flowable";
  return "task";
}

/** `io.kestra.plugin.core.flow.Switch` → `Switch`. */
export function shortType(type: string | null | undefined): string {
  if (!type) return "";
  return CLASS(type);
}

/** The task id shown on a node: its label, else the last uid segment. */
export function nodeTitle(node: GraphNode): string {
  if (node.label) return node.label;
  const id = node.task?.id ?? node.triggerDeclaration?.id;
  if (typeof id === "string") return id;
  return node.uid.slice(node.uid.lastIndexOf(".") + 1);
}

export function clusterTitle(cluster: GraphCluster): string {
  const uid = cluster.cluster.uid;
  if (uid === "cluster_root.Triggers") return "Triggers";
  const task = cluster.cluster.taskNode;
  if (task) return nodeTitle(task);
  return uid.replace(/^cluster_root\./, "");
}

export function clusterSubtitle(cluster: GraphCluster): string {
  const task = cluster.cluster.taskNode;
  return shortType(task?.pluginType ?? (task?.task?.type as string | undefined));
}

export function isFlowGraph(value: unknown): value is FlowGraph {
  return (
    !!value &&
    typeof value === "object" &&
    Array.isArray((value as FlowGraph).nodes) &&
    Array.isArray((value as FlowGraph).edges)
  );
}

/** A cheap structural key: the layout is recomputed only when it changes. */
export function graphKey(graph: FlowGraph): string {
  const n = graph.nodes.map((x) => `${x.uid}|${x.type}|${x.pluginType ?? ""}|${x.disabled ? 1 : 0}`).join(",");
  const e = graph.edges.map((x) => `${x.source}>${x.target}:${x.relation?.relationType ?? ""}:${x.relation?.value ?? ""}`).join(",");
  const c = (graph.clusters ?? []).map((x) => `${x.cluster.uid}[${x.nodes.join(" ")}]`).join(",");
  return `${n}#${e}#${c}`;
}
