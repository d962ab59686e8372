import { describe, expect, it } from "vitest";

import type { FlowGraph } from "../topology/graph";
import type { TaskRun } from "./store";
import { MAX_COPIES, unroll, unrollKey } from "./unroll";

const T = "io.kestra.plugin.core";
const node = (uid: string, type = "GraphTask", task?: Record<string, unknown>) => ({ uid, type: `x.${type}`, task });

/** hello → each(ForEach){ say → nap } → bye, as apps/flows/graph.py builds it. */
const GRAPH: FlowGraph = {
  nodes: [
    node("root._root", "GraphClusterRoot"), node("root._end", "GraphClusterEnd"),
    node("root.hello", "GraphTask", { id: "hello", type: `${T}.log.Log` }),
    node("root.each._root", "GraphClusterRoot"), node("root.each._end", "GraphClusterEnd"),
    node("root.each", "GraphTask", { id: "each", type: `${T}.flow.ForEach` }),
    node("root.each.say", "GraphTask", { id: "say", type: `${T}.log.Log` }),
    node("root.each.nap", "GraphTask", { id: "nap", type: `${T}.flow.Sleep` }),
    node("root.bye", "GraphTask", { id: "bye", type: `${T}.log.Log` }),
  ],
  edges: [
    ["root._root", "root.hello"], ["root.hello", "root.each._root"], ["root.each._root", "root.each"],
    ["root.each", "root.each.say"], ["root.each.say", "root.each.nap"], ["root.each.nap", "root.each._end"],
    ["root.each._end", "root.bye"], ["root.bye", "root._end"],
  ].map(([source, target]) => ({ source, target, relation: null })),
  clusters: [{
    cluster: { uid: "cluster_root.each", taskNode: node("root.each", "GraphTask", { id: "each", type: `${T}.flow.ForEach` }) },
    nodes: ["root.each._root", "root.each._end", "root.each", "root.each.say", "root.each.nap"],
    parents: [], start: "root.each._root", end: "root.each._end",
  }],
};

let seq = 0;
const run = (taskId: string, value: string | null, state = "SUCCESS"): TaskRun => ({
  id: `r${++seq}`, taskId, value, parentTaskRunId: null, iteration: null, seq, attempts: [], outputs: null,
  state: { current: state },
});

describe("unroll", () => {
  it("leaves a loop that has not run alone", () => {
    const { graph, tasks } = unroll(GRAPH, [run("hello", null)]);
    expect(graph).toBe(GRAPH);
    expect(tasks.get("root.each.say")).toEqual({ taskId: "say", value: null });
  });

  it("draws the loop body once per value, wired between the loop task and the cluster end", () => {
    const runs = [run("each", null), run("say", "a"), run("nap", "a"), run("say", "b")];
    const { graph, tasks } = unroll(GRAPH, runs);
    const uids = graph.nodes.map((n) => n.uid);
    expect(uids).toContain("root.each.say_0");
    expect(uids).toContain("root.each.nap_1");
    expect(uids).not.toContain("root.each.say");
    expect(tasks.get("root.each.nap_1")).toEqual({ taskId: "nap", value: "b" });
    expect(graph.nodes.find((n) => n.uid === "root.each.say_1")?.label).toBe("say · b");
    const edges = graph.edges.map((e) => `${e.source}>${e.target}`);
    expect(edges).toEqual(expect.arrayContaining([
      "root.each>root.each.say_0", "root.each>root.each.say_1", "root.each.say_1>root.each.nap_1",
      "root.each.nap_0>root.each._end", "root.each.nap_1>root.each._end",
    ]));
    expect(graph.clusters[0].nodes).toContain("root.each.nap_1");
    expect(unrollKey(GRAPH, runs)).not.toBe(unrollKey(GRAPH, runs.slice(0, 2)));
  });

  it("keeps a loop with too many values drawn once", () => {
    const runs = Array.from({ length: MAX_COPIES + 1 }, (_, i) => run("say", String(i)));
    expect(unroll(GRAPH, runs).graph).toBe(GRAPH);
  });
});
