// The code editor, loaded only when a page shows code (CodeMirror stays out of the first bundle).
import { lazy, Suspense } from "react";
import type { CodeEditorProps } from "../../components/CodeEditor";
import { Loading } from "../../components/common";

const CodeEditor = lazy(() => import("../../components/CodeEditor"));

export default function Editor(props: CodeEditorProps) {
  return (
    <Suspense fallback={<Loading what="Loading the editor" />}>
      <CodeEditor {...props} />
    </Suspense>
  );
}
