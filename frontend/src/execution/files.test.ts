import { describe, expect, it } from "vitest";

import { fileUris } from "./files";

describe("fileUris", () => {
  it("finds every kestra:/// value with its output path", () => {
    expect(fileUris({
      uri: "kestra:///a/b/f.ion",
      code: 200,
      outputFiles: { by_day: "kestra:///a/b/d.csv", note: "not a file" },
      uris: ["kestra:///a/1.txt", "https://example.com/x.csv"],
    })).toEqual([
      { path: "uri", uri: "kestra:///a/b/f.ion" },
      { path: "outputFiles.by_day", uri: "kestra:///a/b/d.csv" },
      { path: "uris[0]", uri: "kestra:///a/1.txt" },
    ]);
  });

  it("ignores outputs without files", () => {
    expect(fileUris(null)).toEqual([]);
    expect(fileUris({ body: "kestra:// is text" })).toEqual([]);
  });
});
