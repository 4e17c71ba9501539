import { expect, it } from "vitest";
import { credentialsOf } from "./Tools";

it("leaves out empty optional credentials and reads the port as a number", () => {
  expect(credentialsOf("email", { host: "smtp.example.com", port: "", sender: "a@example.com", tls: "" })).toEqual({
    host: "smtp.example.com",
    sender: "a@example.com",
    tls: "starttls",
  });
  expect(credentialsOf("email", { host: "h", port: "2525", sender: "s", tls: "none" })).toMatchObject({ port: 2525 });
});

it("reads a webhook's headers one per line", () => {
  expect(credentialsOf("webhook", { url: "https://x", method: "", headers: "A: 1\nB: two: parts\nnot a header" })).toEqual({
    url: "https://x",
    method: "POST",
    headers: { A: "1", B: "two: parts" },
  });
});
