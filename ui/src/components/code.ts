import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState, type Extension } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { StreamLanguage, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { yaml } from "@codemirror/legacy-modes/mode/yaml";
import { tags } from "@lezer/highlight";

export type CodeLanguage = "bash" | "python" | "node" | "json" | "yaml" | "text";

/** The CodeMirror language of an event's language (or of a document). */
export function languageOf(language: CodeLanguage): Extension {
  switch (language) {
    case "bash":
      return StreamLanguage.define(shell);
    case "python":
      return python();
    case "node":
      return javascript();
    case "json":
      return json();
    case "yaml":
      return StreamLanguage.define(yaml);
    default:
      return [];
  }
}

// Colours from the page's CSS variables, so the editor follows the light and dark themes.
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--code-keyword)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--code-string)" },
  { tag: tags.comment, color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.null], color: "var(--code-number)" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "var(--code-function)" },
  { tag: [tags.definition(tags.variableName), tags.propertyName], color: "var(--code-name)" },
]);

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--surface)", color: "var(--text)", fontSize: "0.9rem" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", border: "none" },
  ".cm-activeLine": { backgroundColor: "var(--active-line)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--active-line)" },
  "&.cm-focused": { outline: "2px solid var(--focus)" },
  ".cm-content": { fontFamily: "var(--mono)", caretColor: "var(--text)" },
  ".cm-cursor": { borderLeftColor: "var(--text)" },
});

export function editorExtensions(readOnly: boolean, tabIndents = true): Extension[] {
  return [
    basicSetup,
    tabIndents ? keymap.of([indentWithTab]) : [],
    theme,
    syntaxHighlighting(highlight),
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
  ];
}
