import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import { runBody } from "./RunDialog";

describe("a run's input", () => {
  it("is any JSON value typed in", () => {
    expect(runBody('{"n": 2}')).toEqual({ input: { n: 2 } });
    expect(runBody('{"day": "monday"}')).toEqual({ input: { day: "monday" } });
    expect(runBody("[1, 2]")).toEqual({ input: [1, 2] });
    expect(runBody("false")).toEqual({ input: false });
    expect(runBody("null")).toEqual({ input: null });
  });

  it("is none for empty text: the run has no input", () => {
    expect(runBody("")).toBeUndefined();
    expect(runBody("  \n")).toBeUndefined();
  });

  it("is refused under its field when it is not JSON", () => {
    expect(() => runBody("{n: 2}")).toThrow(/^input: is not valid JSON/);
    let refusal: unknown;
    try {
      runBody("{day: monday}");
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).field).toBe("input");
    expect((refusal as ApiError).message).toMatch(/^input: is not valid JSON \(/);
  });
});
