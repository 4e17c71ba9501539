"""``cronium workflows ...``: workflows on a server."""

from __future__ import annotations

import json
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
) -> None:
    """Create or update a workflow and its events from a YAML document."""
    text = file.read_text(encoding="utf-8")
    workflow = ApiClient(url, token).post_text("/workflows/import", text, "application/yaml")
    out.print(
        f"Imported workflow {workflow['id']} ({workflow['name']}), version {workflow['version']}."
    )


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
