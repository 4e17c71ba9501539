import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render } from "@testing-library/react";
import { EditorView } from "@codemirror/view";
import CodeEditor from "./CodeEditor";

afterEach(cleanup);

function viewOf(container: HTMLElement): EditorView {
  const editor = container.querySelector(".cm-editor");
  const view = editor ? EditorView.findFromDOM(editor as HTMLElement) : null;
  if (!view) throw new Error("no editor drawn");
  return view;
}

describe("the code editor", () => {
  it("numbers the lines and names itself for assistive technology", () => {
    const { container } = render(<CodeEditor value={"a\nb\nc"} language="bash" label="Script" />);
    expect(container.querySelector(".cm-content")?.getAttribute("aria-label")).toBe("Script");
    const numbers = [...container.querySelectorAll(".cm-lineNumbers .cm-gutterElement")].map((e) => e.textContent);
    expect(numbers).toContain("3");
  });

  it("highlights each language's keywords", () => {
    for (const [language, code, keyword] of [
      ["python", "def f():\n    return 1", "def"],
      ["node", "const x = 1;", "const"],
      ["bash", "if true; then echo; fi", "if"],
    ] as const) {
      const { container } = render(<CodeEditor value={code} language={language} label={language} />);
      const styled = [...container.querySelectorAll(".cm-line span")].filter((s) => s.className);
      expect(styled.map((s) => s.textContent)).toContain(keyword);
      cleanup();
    }
  });

  it("reports each change and follows a value given from outside", () => {
    const changed = vi.fn();
    const { container, rerender } = render(<CodeEditor value="echo 1" onChange={changed} language="bash" label="Script" />);
    const view = viewOf(container);
    view.dispatch({ changes: { from: view.state.doc.length, insert: "2" } });
    expect(changed).toHaveBeenLastCalledWith("echo 12");
    rerender(<CodeEditor value="print(3)" onChange={changed} language="python" label="Script" />);
    expect(view.state.doc.toString()).toBe("print(3)");
    expect(container.querySelector(".code-editor")?.getAttribute("data-language")).toBe("python");
  });

  it("cannot be changed when read-only", () => {
    const { container } = render(<CodeEditor value="x" language="bash" label="Script" readOnly />);
    expect(viewOf(container).state.readOnly).toBe(true);
    expect(container.querySelector(".cm-content")?.getAttribute("contenteditable")).toBe("false");
  });
});
