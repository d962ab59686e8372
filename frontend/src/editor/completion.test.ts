/** Expression completion inside `{{ … }}`: task outputs, inputs, flow variables, functions, filters. */
import { CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { EditorState } from "@codemirror/state";
import { describe, expect, test } from "vitest";

import { flowCompletion } from "./completion";

const DOC = `id: f
namespace: acme
variables:
  region: eu
  bucket: b
inputs:
  - id: name
    type: STRING
tasks:
  - id: fetch
    type: io.kestra.plugin.core.log.Log
    message: "`;

async function labels(typed: string): Promise<string[]> {
  const doc = DOC + typed;
  const state = EditorState.create({ doc });
  const result = (await flowCompletion("/unused")(new CompletionContext(state, doc.length, true))) as CompletionResult | null;
  return result ? result.options.map((o) => o.label) : [];
}

describe("expression completion", () => {
  test.each([
    ["outputs", "{{ out", "outputs.fetch"],
    ["inputs", "{{ inp", "inputs.name"],
    ["vars", "{{ va", "vars.region"],
    ["function", "{{ no", "now()"],
    ["after an operator", "{{ inputs.name ~ out", "outputs.fetch"],
    ["filter", "{{ inputs.name | up", "upper"],
  ])("%s", async (_name, typed, expected) => {
    expect(await labels(typed)).toContain(expected);
  });

  test("no int filter (Kestra has number)", async () => {
    const filters = await labels("{{ x | ");
    expect(filters).toContain("number('INT')");
    expect(filters).not.toContain("int");
  });
});
