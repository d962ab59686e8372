/**
 * Golden files for the canvas writer: each case applies one canvas operation to a fixture with
 * comments, odd key order and formatting, and compares the whole text with the expected output
 * in `__fixtures__/<case>.out.yaml` (EDITOR.md §3e pitfalls included). `UPDATE_GOLDEN=1 npm test`
 * rewrites the expected files; review their diff before committing.
 */
import { describe, expect, test } from "vitest";

import { buildModel } from "./model";
import * as ops from "./ops";

// Node's fs without @types/node: the tests run under vitest (Node), the app code never does.
interface Fs {
  existsSync(p: URL): boolean;
  readFileSync(p: URL, enc: "utf8"): string;
  writeFileSync(p: URL, text: string): void;
}
const fsModule = "node:fs";
const { existsSync, readFileSync, writeFileSync } = (await import(/* @vite-ignore */ fsModule)) as Fs;
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const dir = new URL("./__fixtures__/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), "utf8");
const LOG = "io.kestra.plugin.core.log.Log";

type Case = [name: string, input: string, op: (src: string) => string];

const cases: Case[] = [
  ["insert-end", "commented", (s) => ops.insertTask(s, ["tasks"], 3, { type: LOG, props: { message: "hi" } }).text],
  ["insert-middle", "commented", (s) => ops.insertTask(s, ["tasks"], 1, { type: LOG }).text],
  ["insert-nested", "commented", (s) => ops.insertTask(s, ["tasks", 2, "tasks"], 0, { type: "io.kestra.plugin.core.flow.Sleep" }).text],
  ["insert-unindented", "unindented", (s) => ops.insertTask(s, ["tasks"], 1, { type: LOG, props: { message: "m" } }).text],
  ["insert-into-empty", "empty", (s) => ops.insertTask(s, ["tasks"], 0, { type: LOG, props: { message: "first" } }).text],
  ["insert-into-flowlist", "flowlist", (s) => ops.insertTask(s, ["tasks"], 1, { type: LOG, props: { message: "second" } }).text],
  ["insert-switch-case", "switch", (s) => ops.insertTask(s, ["tasks", 0, "cases", "1"], 1, { type: LOG, props: { message: "x" } }).text],
  ["insert-if-else", "switch", (s) => ops.insertTask(s, ["tasks", 1, "else"], 0, { type: LOG, props: { message: "no" } }).text],
  ["insert-dag", "dag", (s) => ops.insertTask(s, ["tasks", 0, "tasks"], 2, { type: LOG, props: { message: "z" } }).text],
  ["delete-first", "commented", (s) => ops.deleteTasks(s, ["extract"])],
  ["delete-block-scalar", "commented", (s) => ops.deleteTasks(s, ["announce"])],
  ["delete-last-of-list", "commented", (s) => ops.deleteTasks(s, ["alert"])],
  ["delete-all-then-insert", "unindented", (s) => ops.insertTask(ops.deleteTasks(s, ["a", "b"]), ["tasks"], 0, { type: LOG }).text],
  ["delete-dependency", "unindented", (s) => ops.deleteTasks(s, ["a"])],
  ["delete-dag-dependency", "dag", (s) => ops.deleteTasks(s, ["x"])],
  ["move-down", "commented", (s) => ops.moveTask(s, "extract", ["tasks"], 3)],
  ["move-up", "commented", (s) => ops.moveTask(s, "fanout", ["tasks"], 0)],
  ["move-out-of-group", "commented", (s) => ops.moveTask(s, "left", ["tasks"], 0)],
  ["move-into-group", "commented", (s) => ops.moveTask(s, "announce", ["tasks", 2, "tasks"], 2)],
  ["move-switch-case", "switch", (s) => ops.moveTask(s, "one", ["tasks", 0, "cases", "B"], 1)],
  ["move-out-of-dag", "dag", (s) => ops.moveTask(s, "y", ["tasks"], 1)],
  ["rename", "commented", (s) => ops.renameTask(s, "extract", "fetch")],
  ["rename-dependency", "unindented", (s) => ops.renameTask(s, "a", "alpha")],
  ["set-scalar-keeps-quotes", "commented", (s) => ops.setProperty(s, "extract", "uri", "https://example.org/x")],
  ["set-block-scalar", "commented", (s) => ops.setProperty(s, "announce", "message", "one\ntwo\n")],
  ["set-folded-neighbour", "switch", (s) => ops.setProperty(s, "one", "level", "WARN")],
  ["set-new-key", "commented", (s) => ops.setProperty(s, "announce", "level", "WARN")],
  ["set-nested", "commented", (s) => ops.setProperty(s, "announce", "retry.maxAttempts", 3)],
  ["set-list", "commented", (s) => ops.setProperty(s, "left", "format", "l")],
  ["set-map", "commented", (s) => ops.setProperty(s, "extract", "headers", { Accept: "application/json", "X-Team": "data" })],
  ["unset", "commented", (s) => ops.setProperty(s, "alert", "level", undefined)],
  ["add-depends-flow", "unindented", (s) => ops.addDependsOn(ops.insertTask(s, ["tasks"], 2, { type: LOG, id: "c" }).text, "b", "c")],
  ["add-depends-new", "commented", (s) => ops.addDependsOn(s, "announce", "extract")],
  ["add-depends-dag", "dag", (s) => ops.addDependsOn(ops.insertTask(s, ["tasks", 0, "tasks"], 2, { type: LOG, id: "z" }).text, "y", "z")],
  ["remove-depends", "unindented", (s) => ops.removeDependsOn(s, "b", "a")],
  ["remove-depends-dag", "dag", (s) => ops.removeDependsOn(s, "y", "x")],
  ["dag-mode-on", "commented", (s) => ops.setDagMode(s, ["tasks"], true)],
  ["dag-mode-off", "unindented", (s) => ops.setDagMode(s, ["tasks"], false)],
  ["wrap-parallel", "commented", (s) => ops.wrapTasks(s, ["extract", "announce"], "io.kestra.plugin.core.flow.Parallel").text],
  ["duplicate-group", "commented", (s) => ops.duplicateTasks(s, ["fanout"]).text],
  ["paste-into-dag", "dag", (s) => ops.pasteTasks(s, ["tasks", 0, "tasks"], 2, ops.copyTasks(s, ["y"])).text],
];

describe("canvas edits are minimal YAML edits", () => {
  test.each(cases)("%s", (name, input, op) => {
    const out = op(read(`${input}.yaml`));
    const golden = new URL(`${name}.out.yaml`, dir);
    if (env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, out);
    expect(out).toBe(readFileSync(golden, "utf8"));
    expect(buildModel(out).ok).toBe(true);
  });
});

describe("every comment of the input survives edits that do not delete its task", () => {
  const src = read("commented.yaml");
  const comments = src.split("\n").map((l: string) => /#.*$/.exec(l)?.[0]).filter((c): c is string => !!c);
  test.each([
    ["insert", (s: string) => ops.insertTask(s, ["tasks"], 1, { type: LOG }).text],
    ["move", (s: string) => ops.moveTask(s, "extract", ["tasks", 2, "tasks"], 1)],
    ["rename", (s: string) => ops.renameTask(s, "announce", "say")],
    ["set", (s: string) => ops.setProperty(s, "extract", "method", "POST")],
    ["wrap", (s: string) => ops.wrapTasks(s, ["announce", "fanout"], "io.kestra.plugin.core.flow.Sequential").text],
  ] as const)("%s", (_name, op) => {
    const out = op(src);
    for (const c of comments) expect(out).toContain(c);
  });
});

describe("refused operations explain themselves", () => {
  test("a dependsOn that closes a cycle", () => {
    const s = ops.addDependsOn(read("unindented.yaml"), "b", "a");
    expect(() => ops.addDependsOn(s, "a", "b")).toThrow(/cycle/);
  });
  test("dependsOn across lists", () => {
    expect(() => ops.addDependsOn(read("commented.yaml"), "left", "extract")).toThrow(/same task list/);
  });
  test("renaming to a used id", () => {
    expect(() => ops.renameTask(read("commented.yaml"), "left", "right")).toThrow(/already used/);
  });
  test("renaming to an invalid id", () => {
    expect(() => ops.renameTask(read("commented.yaml"), "left", "no spaces")).toThrow(/not a valid id/);
  });
  test("moving a group into itself", () => {
    expect(() => ops.moveTask(read("commented.yaml"), "fanout", ["tasks", 2, "tasks"], 0)).toThrow(/into itself/);
  });
  test("an edit of invalid YAML", () => {
    expect(() => ops.insertTask("tasks: [\n", ["tasks"], 0, { type: LOG })).toThrow(/fix the YAML/);
  });
});

test("minimalChange covers only the changed span", () => {
  expect(ops.minimalChange("abcdef", "abXYef")).toEqual({ from: 2, to: 4, insert: "XY" });
  expect(ops.minimalChange("same", "same")).toBeNull();
});
