import { describe, expect, it } from "vitest";

import { parseAnsi, stripAnsi } from "./ansi";

describe("parseAnsi", () => {
  it("keeps plain text as one unstyled segment", () => {
    expect(parseAnsi("plain <b>text</b>")).toEqual([{ text: "plain <b>text</b>", classes: "" }]);
  });

  it("turns SGR colour codes into classes and drops the escapes", () => {
    expect(parseAnsi("a \x1b[1;31mred\x1b[0m b")).toEqual([
      { text: "a ", classes: "" },
      { text: "red", classes: "ansi-fg-1 ansi-bold" },
      { text: " b", classes: "" },
    ]);
  });

  it("maps bright and 256-colour codes below 16, ignores true colour and cursor moves", () => {
    expect(parseAnsi("\x1b[92mok\x1b[38;5;4mblue\x1b[38;2;1;2;3mrgb\x1b[2Kx")).toEqual([
      { text: "ok", classes: "ansi-fg-10" },
      { text: "blue", classes: "ansi-fg-4" },
      { text: "rgb", classes: "ansi-fg-4" },
      { text: "x", classes: "ansi-fg-4" },
    ]);
  });

  it("strips every escape for search", () => {
    expect(stripAnsi("\x1b[31merror\x1b[0m: \x1b[1mboom")).toBe("error: boom");
  });
});
