import { expect, it } from "vitest";
import { expiryDays } from "./Tokens";

it("reads the days a token lasts, or never for nothing, and refuses anything else", () => {
  expect(expiryDays(" 30 ")).toBe(30);
  expect(expiryDays("")).toBeNull();
  expect(() => expiryDays("abc")).toThrow(/expires_in_days: 'abc' is not a whole number/);
  expect(() => expiryDays("1.5")).toThrow(/not a whole number/);
});
