import { describe, expect, it } from "vitest";
import type { Event } from "../../lib/types";
import { eventNamer, nodeNameFor } from "./names";

describe("nodeNameFor", () => {
  it("keeps a name that is valid and free", () => {
    expect(nodeNameFor("fetch-data", [])).toBe("fetch-data");
  });

  it("replaces what a node name cannot hold", () => {
    expect(nodeNameFor("Load the rows!", [])).toBe("Load_the_rows_");
    expect(nodeNameFor("..hidden", [])).toBe("hidden");
    expect(nodeNameFor("éé", [])).toBe("_");
  });

  it("numbers a name already taken", () => {
    const nodes = [
      { name: "fetch", event_id: 1 },
      { name: "fetch-2", event_id: 1 },
    ];
    expect(nodeNameFor("fetch", nodes)).toBe("fetch-3");
  });
});

describe("eventNamer", () => {
  it("names the event of a node, or its id when it is not readable", () => {
    const name = eventNamer([{ id: 3, name: "fetch-data" } as Event]);
    expect(name({ name: "a", event_id: 3 })).toBe("fetch-data");
    expect(name({ name: "b", event_id: 9 })).toBe("event 9");
  });
});
