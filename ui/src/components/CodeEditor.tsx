// A CodeMirror 6 editor: syntax highlighting for Bash, Python, JavaScript, JSON and YAML, line
// numbers, the usual keys. Loaded only by pages that edit code (see ./code.ts).
import { useEffect, useRef } from "react";
import { EditorView } from "@codemirror/view";
import { Compartment, EditorState } from "@codemirror/state";
import { editorExtensions, languageOf, type CodeLanguage } from "./code";

export interface CodeEditorProps {
  value: string;
  onChange?: (value: string) => void;
  language: CodeLanguage;
  readOnly?: boolean;
  /** The accessible name of the editor (its label). */
  label: string;
  minHeight?: string;
  id?: string;
  /** Tab indents (a script); false: Tab moves on, as in any field (a short JSON input). */
  tabIndents?: boolean;
}

export default function CodeEditor(props: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    if (!host.current) return;
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          ...editorExtensions(props.readOnly ?? false, props.tabIndents ?? true),
          language.current.of(languageOf(props.language)),
          EditorView.contentAttributes.of({ "aria-label": props.label, ...(props.id ? { id: props.id } : {}) }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // created once; value and language are kept in step below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== props.value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(languageOf(props.language)) });
  }, [props.language]);

  const indents = !props.readOnly && (props.tabIndents ?? true);
  return (
    <>
      <div
        className="code-editor"
        ref={host}
        data-language={props.language}
        style={{ minHeight: props.minHeight ?? "12rem" }}
      />
      {indents ? <div className="hint">Tab indents; Esc, then Tab, moves on to what follows.</div> : null}
    </>
  );
}
