import { describe, expect, it } from "vitest";
import { ApiError, errorFor, fieldOf } from "./api";
import { safeNext } from "../pages/Login";

describe("the field an API message names", () => {
  it("is the path before the colon", () => {
    expect(fieldOf("cpus: Input should be less than or equal to 2")).toBe("cpus");
    expect(fieldOf("schedule.cron: not a cron expression")).toBe("schedule.cron");
  });
  it("is none for a sentence", () => {
    expect(fieldOf("the workflow is not valid: edge a -> b")).toBeNull();
    expect(fieldOf("an event named 'x' exists: pick another name")).toBeNull();
  });
  it("puts a sub-field's message under its field", () => {
    const error = new ApiError(422, "invalid_input", "schedule.cron: bad");
    expect(errorFor(error, "schedule")).toBe("schedule.cron: bad");
    expect(errorFor(error, "script")).toBeNull();
    expect(errorFor(new Error("x"), "script")).toBeNull();
  });
  it("is the field a sentence starts by speaking of", () => {
    const error = new ApiError(422, "invalid_input", "the password is too short: use at least 10");
    expect(errorFor(error, "password")).toBe(error.message);
    expect(errorFor(error, "current_password")).toBeNull();
    const current = new ApiError(401, "unauthenticated", "the current password is wrong");
    expect(errorFor(current, "current_password")).toBe(current.message);
    expect(errorFor(current, "password")).toBeNull();
  });
});

describe("a name already taken", () => {
  it("is about the name field, whatever the object", () => {
    const taken = new ApiError(409, "conflict", "a user named 'vera' already exists");
    expect(errorFor(taken, "name")).toBe(taken.message);
    expect(errorFor(taken, "password")).toBeNull();
    const other = new ApiError(409, "conflict", "execution 3 has already ended");
    expect(errorFor(other, "name")).toBeNull();
  });
});

describe("where a login goes back to", () => {
  it("is a path of this site only", () => {
    expect(safeNext("/events/3?tab=runs")).toBe("/events/3?tab=runs");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("/login?next=/x")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
