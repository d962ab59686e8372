import { describe, expect, it } from "vitest";

import type { FlowGraph } from "./graph";
import { layoutGraph } from "./layout";

/** The server's graph of a flow of `n` sequential Log tasks, with a Parallel of 2 in the middle. */
function sequence(n: number): FlowGraph {
  const nodes: FlowGraph["nodes"] = [
    { uid: "root._root", type: "io.kestra.core.models.hierarchies.GraphClusterRoot" },
    { uid: "root._end", type: "io.kestra.core.models.hierarchies.GraphClusterEnd" },
  ];
  const edges: FlowGraph["edges"] = [];
  const clusters: FlowGraph["clusters"] = [];
  let last = "root._root";
  for (let i = 1; i <= n; i++) {
    if (i === Math.floor(n / 2)) {
      const p = "root.p";
      nodes.push({ uid: `${p}._root`, type: "io.kestra.core.models.hierarchies.GraphClusterRoot" },
        { uid: `${p}._end`, type: "io.kestra.core.models.hierarchies.GraphClusterEnd" },
        { uid: p, type: "io.kestra.core.models.hierarchies.GraphTask" },
        { uid: `${p}.a`, type: "io.kestra.core.models.hierarchies.GraphTask" },
        { uid: `${p}.b`, type: "io.kestra.core.models.hierarchies.GraphTask" });
      edges.push({ source: last, target: `${p}._root`, relation: null }, { source: `${p}._root`, target: p, relation: null },
        { source: p, target: `${p}.a`, relation: { relationType: "PARALLEL", value: null } },
        { source: p, target: `${p}.b`, relation: { relationType: "PARALLEL", value: null } },
        { source: `${p}.a`, target: `${p}._end`, relation: null }, { source: `${p}.b`, target: `${p}._end`, relation: null });
      clusters.push({ cluster: { uid: "cluster_root.p", taskNode: nodes[nodes.length - 3] },
        nodes: [`${p}._root`, `${p}._end`, p, `${p}.a`, `${p}.b`], parents: [], start: `${p}._root`, end: `${p}._end` });
      last = `${p}._end`;
      continue;
    }
    const uid = `root.t${i}`;
    nodes.push({ uid, type: "io.kestra.core.models.hierarchies.GraphTask" });
    edges.push({ source: last, target: uid, relation: { relationType: "SEQUENTIAL", value: null } });
    last = uid;
  }
  nodes.push({ uid: "root.e1", type: "io.kestra.core.models.hierarchies.GraphTask" });
  edges.push({ source: last, target: "root._end", relation: null }, { source: "root._root", target: "root.e1", relation: { relationType: "ERROR", value: null } },
    { source: "root.e1", target: "root._end", relation: null });
  return { nodes, edges, clusters };
}

function overlaps(layout: ReturnType<typeof layoutGraph>): number {
  const boxes = layout.nodes.map((n) => [n.x - n.width / 2, n.y - n.height / 2, n.x + n.width / 2, n.y + n.height / 2]);
  let count = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) count++;
    }
  return count;
}

describe("wrapping long sequences", () => {
  it("keeps a short flow on one line", () => {
    const layout = layoutGraph(sequence(6), "LR");
    expect(layout.width).toBeGreaterThan(layout.height * 3);
  });

  it.each(["LR", "TB"] as const)("wraps 150 tasks into a landscape block without overlaps (%s)", (direction) => {
    const graph = sequence(150);
    const layout = layoutGraph(graph, direction);
    expect(layout.nodes).toHaveLength(graph.nodes.length);
    const ratio = layout.width / layout.height;
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(3);
    expect(overlaps(layout)).toBe(0);
    for (const n of layout.nodes) {
      expect(n.x - n.width / 2).toBeGreaterThanOrEqual(0);
      expect(n.y - n.height / 2).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width / 2).toBeLessThanOrEqual(layout.width);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(layout.height);
    }
    // Every edge is drawn, and each one starts and ends at its nodes.
    expect(layout.edges).toHaveLength(graph.edges.length);
    expect(layout.clusters).toHaveLength(1);
  });
});
