import { describe, expect, it } from "vitest";
import { modeOf } from "./modes";

describe("modeOf", () => {
  it("picks the editor mode from the extension", () => {
    expect(modeOf("etl/clean.py")).toBe("python");
    expect(modeOf("q.SQL")).toBe("sql");
    expect(modeOf("run.sh")).toBe("shell");
    expect(modeOf("flows/a.yml")).toBe("yaml");
    expect(modeOf("conf.json")).toBe("json");
    expect(modeOf("README")).toBe("text");
  });
});
