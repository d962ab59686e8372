/**
 * Loops unrolled with their values (KESTRA.md §7.8): in an execution's topology, the body of a
 * ForEach/LoopUntil cluster is drawn once per value that ran, each copy labelled with its value
 * and coloured by the task runs of that value, as Kestra does with `_value` uids.
 *
 * Kept simple on purpose: a loop whose body holds another cluster (a nested loop or Parallel)
 * or that ran more than `MAX_COPIES` values stays drawn once, with a `×n` badge.
 */

import type { FlowGraph, GraphCluster, GraphNode } from "../topology/graph";
import type { TaskRun } from "./store";

export const MAX_COPIES = 20;
const LOOP = /\.(ForEach|LoopUntil|EachSequential|EachParallel)$/;

/** A drawn node's task and, for a loop copy, the value it stands for. */
export interface NodeTask {
  taskId: string;
  value: string | null;
}

function loopTaskType(cluster: GraphCluster): string {
  const task = cluster.cluster.taskNode?.task;
  return typeof task?.type === "string" ? task.type : "";
}

function taskIdOf(node: GraphNode): string | null {
  const id = node.task?.id;
  return typeof id === "string" ? id : null;
}

interface Loop {
  cluster: GraphCluster;
  body: Set<string>;
  values: string[];
}

function loopsOf(graph: FlowGraph, runs: TaskRun[]): Loop[] {
  const byUid = new Map(graph.nodes.map((n) => [n.uid, n]));
  const loops: Loop[] = [];
  for (const cluster of graph.clusters ?? []) {
    if (!LOOP.test(loopTaskType(cluster))) continue;
    const uid = cluster.cluster.uid;
    if ((graph.clusters ?? []).some((c) => c.parents.includes(uid))) continue; // holds a cluster
    if ((graph.clusters ?? []).some((c) => cluster.parents.includes(c.cluster.uid) && LOOP.test(loopTaskType(c)))) continue;
    const loopNode = cluster.cluster.taskNode?.uid;
    const body = new Set(cluster.nodes.filter((n) => n !== cluster.start && n !== cluster.end && n !== loopNode && byUid.has(n)));
    const bodyTasks = new Set([...body].map((n) => taskIdOf(byUid.get(n)!)).filter((t): t is string => !!t));
    const values: string[] = [];
    for (const run of runs) {
      if (run.value !== null && bodyTasks.has(run.taskId) && !values.includes(run.value)) values.push(run.value);
    }
    if (values.length && values.length <= MAX_COPIES) loops.push({ cluster, body, values });
  }
  return loops;
}

/** A key that changes when a relayout is needed (a loop ran a new value). */
export function unrollKey(graph: FlowGraph, runs: TaskRun[]): string {
  return loopsOf(graph, runs).map((l) => `${l.cluster.cluster.uid}=${l.values.join("\u0001")}`).join("\u0002");
}

const copyUid = (uid: string, index: number) => `${uid}_${index}`;

export function unroll(graph: FlowGraph, runs: TaskRun[]): { graph: FlowGraph; tasks: Map<string, NodeTask> } {
  const tasks = new Map<string, NodeTask>();
  for (const node of graph.nodes) {
    const id = taskIdOf(node);
    if (id) tasks.set(node.uid, { taskId: id, value: null });
  }
  const loops = loopsOf(graph, runs);
  if (!loops.length) return { graph, tasks };
  let nodes = [...graph.nodes];
  let edges = [...graph.edges];
  const clusters = (graph.clusters ?? []).map((c) => ({ ...c, nodes: [...c.nodes] }));
  for (const loop of loops) {
    const { body, values } = loop;
    const copies: GraphNode[] = [];
    for (const node of nodes.filter((n) => body.has(n.uid))) {
      const id = taskIdOf(node)!;
      values.forEach((value, i) => {
        const uid = copyUid(node.uid, i);
        copies.push({ ...node, uid, label: `${id} · ${value}` });
        tasks.set(uid, { taskId: id, value });
      });
      tasks.delete(node.uid);
    }
    nodes = [...nodes.filter((n) => !body.has(n.uid)), ...copies];
    const next = [];
    for (const edge of edges) {
      const inS = body.has(edge.source);
      const inT = body.has(edge.target);
      if (!inS && !inT) next.push(edge);
      else values.forEach((_, i) => next.push({
        ...edge,
        source: inS ? copyUid(edge.source, i) : edge.source,
        target: inT ? copyUid(edge.target, i) : edge.target,
      }));
    }
    edges = next;
    for (const c of clusters) {
      if (!c.nodes.some((n) => body.has(n))) continue;
      c.nodes = c.nodes.flatMap((n) => (body.has(n) ? values.map((_, i) => copyUid(n, i)) : [n]));
    }
  }
  return { graph: { nodes, edges, clusters }, tasks };
}
