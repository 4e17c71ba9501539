import { describe, expect, it } from "vitest";
import { isAboutGraph, problemsOf } from "./problems";

const graph = {
  nodes: [
    { name: "fetch", event_id: 3 },
    { name: "load", event_id: 4 },
    { name: "alert", event_id: 5 },
  ],
  edges: [
    { source: "fetch", target: "load" },
    { source: "load", target: "fetch", kind: "on_condition" as const },
  ],
};

describe("problemsOf", () => {
  it("names the nodes and edges of a cycle and of an edge to an unknown node, one problem each", () => {
    const message =
      "the workflow is not valid: edge load -> nowhere: no node is named 'nowhere'; it has a cycle: fetch -> load -> fetch";
    expect(problemsOf(message, graph)).toEqual([
      { text: "edge load -> nowhere: no node is named 'nowhere'", nodes: [], edges: ["load->nowhere"] },
      { text: "it has a cycle: fetch -> load -> fetch", nodes: ["fetch", "load"], edges: ["fetch->load", "load->fetch"] },
    ]);
  });

  it("names the edges of a loop and of a duplicate, and the nodes a cycle cuts off", () => {
    const message =
      "the workflow is not valid: edge alert -> alert links a node to itself; two edges go from fetch to load: keep one (an 'always' edge covers success and failure); alert, load can never run (reached only through a cycle)";
    expect(problemsOf(message, graph).map(({ nodes, edges }) => ({ nodes, edges }))).toEqual([
      { nodes: ["alert"], edges: ["alert->alert"] },
      { nodes: [], edges: ["fetch->load"] },
      { nodes: ["alert", "load"], edges: [] },
    ]);
  });

  it("names nodes by name, by event and by their place in the request", () => {
    expect(problemsOf("workflow node 'load': no event has id 4 (a node runs an event of yours)", graph)[0].nodes).toEqual(["load"]);
    expect(problemsOf("the workflow is not valid: two nodes are named 'fetch'", graph)[0].nodes).toEqual(["fetch"]);
    expect(problemsOf("workflow node runs event 5, which is a workflow itself: nodes run scripts", graph)[0].nodes).toEqual(["alert"]);
    expect(problemsOf("workflow.nodes.1.event_id: Input should be a valid integer", graph)[0].nodes).toEqual(["load"]);
    expect(problemsOf("workflow.edges.1.kind: Input should be 'always'", graph)[0].edges).toEqual(["load->fetch"]);
  });

  it("keeps a problem that names nothing, with its text", () => {
    expect(problemsOf("the workflow is not valid: it has no nodes: add at least one", graph)).toEqual([
      { text: "it has no nodes: add at least one", nodes: [], edges: [] },
    ]);
  });
});

describe("isAboutGraph", () => {
  it("tells the graph's problems from the others", () => {
    expect(isAboutGraph("the workflow is not valid: it has no nodes: add at least one")).toBe(true);
    expect(isAboutGraph("workflow.edges.0.kind: Input should be 'always'")).toBe(true);
    expect(isAboutGraph("workflow node 'a': no event has id 9")).toBe(true);
    expect(isAboutGraph("name: an event named 'x' exists already")).toBe(false);
  });
});
