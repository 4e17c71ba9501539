"""``cronium workflows ...``: workflows on a server."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cronium.cli.common import (
    EXIT_NOT_SUCCEEDED,
    JsonOption,
    TokenOption,
    UrlOption,
    err,
    out,
    parse_json,
    print_json,
    print_record,
    print_table,
    wait_for,
    workflows_app,
)
from cronium.client import DEFAULT_URL, ApiClient


@workflows_app.command("list")
def workflows_list(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List your workflows."""
    workflows = ApiClient(url, token).get("/workflows")
    if as_json:
        print_json(workflows)
        return
    for workflow in workflows:
        workflow["nodes"] = len(workflow["workflow"]["nodes"])
    print_table(workflows, ["id", "name", "status", "nodes", "version", "updated_at"])


@workflows_app.command("show")
def workflows_show(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a workflow: its nodes and edges."""
    workflow = ApiClient(url, token).get(f"/workflows/{workflow_id}")
    if as_json:
        print_json(workflow)
        return
    print_record(workflow, ["id", "name", "status", "version", "schedule"])
    graph = workflow["workflow"]
    print_table(graph["nodes"], ["name", "event_id"])
    if graph["edges"]:
        print_table(graph["edges"], ["source", "target", "kind", "value"])


@workflows_app.command("import")
def workflows_import(
    file: Annotated[Path, typer.Argument(help="A workflow document (YAML).", exists=True)],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what the import would do.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create, change or leave alone a workflow and its events from a YAML document; show
    what was created, changed (with the new version) and left unchanged."""
    text = file.read_text(encoding="utf-8")
    path = "/workflows/import?dry_run=true" if dry_run else "/workflows/import"
    answer = ApiClient(url, token).post_text(path, text, "application/yaml")
    if as_json:
        print_json(answer)
        return
    _print_report(answer["report"])


def _print_report(report: dict[str, Any]) -> None:
    """The import's report: a row per event, then the workflow, and a line that sums it up."""
    done = [*report["events"], report["workflow"]]
    rows = [{**item, "version": _versions(item)} for item in done]
    print_table(rows, ["outcome", "kind", "name", "id", "version"])
    workflow = report["workflow"]
    counts = Counter(item["outcome"] for item in done)
    if report["dry_run"]:
        summary = f"Dry run, nothing written: the import would {_tally(counts, done=False)}."
    elif counts["unchanged"] == len(done):
        summary = (
            f"Nothing to change: workflow {workflow['id']} ({workflow['name']}) and its events "
            "match the document."
        )
    else:
        summary = (
            f"Imported workflow {workflow['id']} ({workflow['name']}): {_tally(counts, done=True)}."
        )
    out.print(summary, highlight=False)


VERBS = {"created": ("create", "created"), "changed": ("change", "changed")}


def _tally(counts: Counter[str], *, done: bool) -> str:
    """``create 1, change 2 and leave 1 unchanged``; once done, ``created 1, ...``."""
    parts = [f"{VERBS[o][done]} {counts[o]}" for o in ("created", "changed") if counts[o]]
    if counts["unchanged"]:
        parts.append(f"{'left' if done else 'leave'} {counts['unchanged']} unchanged")
    return " and ".join(", ".join(parts).rsplit(", ", 1))


def _versions(item: dict[str, Any]) -> str:
    """``1`` for one created or unchanged, ``1 -> 2`` for one changed."""
    if item["outcome"] == "changed":
        return f"{item['old_version']} -> {item['version']}"
    return str(item["version"])


@workflows_app.command("export")
def workflows_export(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
) -> None:
    """Write a workflow and its events as one YAML document."""
    document = ApiClient(url, token).get(f"/workflows/{workflow_id}/export")
    if output is None:
        print(document, end="")
    else:
        output.write_text(document, encoding="utf-8")
        err.print(f"Wrote workflow {workflow_id} to {output}.")


@workflows_app.command("delete")
def workflows_delete(
    workflow_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None
) -> None:
    """Delete a workflow with its runs; the events its nodes run are kept."""
    client = ApiClient(url, token)
    workflow = client.get(f"/workflows/{workflow_id}")
    client.delete(f"/workflows/{workflow_id}")
    kept = len({node["event_id"] for node in workflow["workflow"]["nodes"]})
    out.print(
        f"Deleted workflow {workflow_id} ({workflow['name']}) with its runs; the {kept} "
        "event(s) its nodes ran are kept.",
        highlight=False,
    )


@workflows_app.command("run")
def workflows_run(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    input: Annotated[str | None, typer.Option("--input", help="JSON for the start nodes.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the end and show each node.")] = False,
) -> None:
    """Start a run of a workflow now."""
    client = ApiClient(url, token)
    accepted = client.post(f"/workflows/{workflow_id}/run", {"input": parse_json(input, "--input")})
    run_id = accepted["execution_id"]
    if not wait:
        out.print(f"Started run {run_id}.")
        return
    run = wait_for(client, run_id)
    _print_run(client.get(f"/workflows/runs/{run_id}"))
    raise typer.Exit(0 if run["status"] == "succeeded" else EXIT_NOT_SUCCEEDED)


@workflows_app.command("runs")
def workflows_runs(
    workflow_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """A workflow's runs, newest first."""
    runs = ApiClient(url, token).get(f"/workflows/{workflow_id}/runs", limit=limit)
    if as_json:
        print_json(runs)
    else:
        print_table(runs, ["id", "status", "trigger", "queued_at", "finished_at", "error"])


@workflows_app.command("run-show")
def workflows_run_show(
    run_id: int,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its status, then each node's status, timings and execution."""
    detail = ApiClient(url, token).get(f"/workflows/runs/{run_id}")
    if as_json:
        print_json(detail)
    else:
        _print_run(detail)


@workflows_app.command("cancel")
def workflows_cancel(run_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Cancel a run: nodes not started never start, running ones are stopped."""
    ApiClient(url, token).post(f"/workflows/runs/{run_id}/cancel")
    out.print(f"Cancelled run {run_id}.")


def _print_run(detail: dict[str, Any]) -> None:
    run = detail["run"]
    reason = f": {run['error']}" if run["error"] else ""
    out.print(f"Run {run['id']} {run['status']}{reason}.", highlight=False)
    rows = []
    for node in detail["nodes"]:
        took = ""
        if node["started_at"] and node["finished_at"]:
            seconds = (
                datetime.fromisoformat(node["finished_at"])
                - datetime.fromisoformat(node["started_at"])
            ).total_seconds()
            took = f"{seconds:.2f} s"
        rows.append({**node, "took": took, "output": json.dumps(node["output"])})
    print_table(rows, ["node", "status", "execution_id", "took", "output", "error"])
