"""What hubctl shows: registry, executions and audit, read through the hub's APIs, rendered with rich."""
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from genai_hub import audit, config
from genai_hub.registry import TENANTS_KEY, from_item
from hubctl.stack import Hub

# Piped output (CI logs, grep): lines are never wrapped (soft_wrap) and tables take their natural
# width (print_table), so a line is a record and an ARN is whole; 160 columns is only the page width
# of what has none of its own.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160, soft_wrap=not sys.stdout.isatty())


def new_table(title: str | None, *columns: str, whole: tuple[str, ...] = (), **kwargs) -> Table:
    """A table whose cells wrap instead of being cut with an ellipsis. Columns named in `whole` (ARNs,
    execution names: what is copied into another command) never wrap: print_table makes room."""
    table = Table(title=title, **kwargs)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in whole)
    return table


def print_table(table: Table) -> None:
    """Print a table without cutting or folding a word (an ARN, an id, a status), wider than the page if
    it must be: a terminal wraps the long line on screen and a copy of it stays whole; piped, every row
    is one line at the table's natural width. rich would otherwise squeeze it to the page and fold."""
    from rich.measure import Measurement
    from rich.segment import Segments

    unbounded = console.options.update_width(100_000)
    natural = console.measure(table, options=unbounded).maximum
    if natural <= console.width:
        console.print(table)
        return
    width = natural
    if console.is_terminal:  # as narrow as the longest word of each column allows
        for column in table.columns:
            words = [Measurement.get(console, unbounded, cell).minimum for cell in (column.header, *column.cells)]
            column.min_width = max(words, default=1)
        width = max(console.width, console.measure(table, options=unbounded).minimum)
    lines = console.render_lines(table, console.options.update_width(width), pad=False, new_lines=True)
    console.print(Segments(segment for line in lines for segment in line), crop=False, soft_wrap=True, end="")


STATUS_STYLE = {"ACTIVE": "green", "SUCCEEDED": "green", "PENDING": "yellow", "RUNNING": "yellow",
                "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "red", "REJECTED": "red", "COMPENSATED": "magenta",
                "APPROVED": "green", "RETIRING": "yellow", "RETIRED": "magenta", "PLANNED": "yellow", "SCHEDULED": "yellow",
                "REVOKING": "yellow", "COMPLETED": "magenta", "CANCELLED": "cyan"}


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "white")
    return f"[{style}]{status}[/{style}]"


# --- registry ---------------------------------------------------------------------------------------

def tenant_records(hub: Hub) -> list[dict]:
    ddb = hub.client("dynamodb")
    tenants = []
    for page in ddb.get_paginator("scan").paginate(
        TableName=hub.output("RegistryTableName"), FilterExpression="sk = :m", ExpressionAttributeValues={":m": {"S": "META"}},
    ):
        tenants.extend(from_item(i) for i in page["Items"])
    return sorted(tenants, key=lambda t: t["tenant_id"])


def tenant_items(hub: Hub, tenant_id: str) -> dict[str, dict]:
    ddb = hub.client("dynamodb")
    items = ddb.query(
        TableName=hub.output("RegistryTableName"), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant_id}"}}, ConsistentRead=True,
    )["Items"]
    return {i["sk"]["S"]: from_item(i) for i in items}


def print_tenants(hub: Hub) -> None:
    table = new_table("Tenants", "tenant", "status", "residency", "cost centre", "spoke account", "models",
                      "budget (USD/month)", "reason")
    for t in tenant_records(hub):
        budget = (t.get("budget") or {}).get("monthly_limit_usd", "")
        table.add_row(t["tenant_id"], styled(t["status"]), t["data_residency"], t["cost_center"], t["spoke_account_id"],
                      str(len(t.get("default_models", []))), str(budget), t.get("failure_reason", ""))
    print_table(table)


def print_tenant(hub: Hub, tenant_id: str) -> bool:
    items = tenant_items(hub, tenant_id)
    meta = items.get("META")
    if not meta:
        console.print(f"[red]no tenant {tenant_id!r} in the registry[/red]")
        return False
    console.print(f"[bold]{meta['display_name']}[/bold] ({tenant_id})  {styled(meta['status'])}")
    for key in ("data_residency", "allow_global_inference", "cost_center", "guardrail", "spoke_account_id",
                "requested_by", "created_at", "activated_at", "failure_error", "failure_reason"):
        if key in meta:
            console.print(f"  {key:<24}{meta[key]}")
    if meta.get("tombstone"):  # offboarded: what it was, what it spent, what went
        t = meta["tombstone"]
        console.print(f"  [bold]Offboarded[/bold] {meta.get('offboarded_at')} by {meta.get('offboarded_by')}: {meta.get('offboarded_reason')}")
        console.print(f"  {'final spend':<24}{t['final_month_to_date_usd']} USD in {t['month']} (usage history: hubctl usage --tenant {tenant_id})")
        for arn in t["deleted"]["profiles"]:
            console.print(f"  {'deleted profile':<24}{arn}", soft_wrap=True)
        console.print(f"  {'deleted grants':<24}{', '.join(t['deleted']['grants']) or 'none'}")
    elif (meta.get("offboarding") or {}).get("failed"):
        failure = meta["offboarding"].get("failure") or {}
        console.print(f"  [red]offboarding failed[/red] {failure.get('error')}: {failure.get('reason')}; access stays cut: "
                      f"run `hubctl tenants offboard {tenant_id} --reason ...` again to finish it")
    opened = meta.get("access") or {}
    if opened:
        # What the tenant's developers need (docs/tenants.md): where to get credentials, as whom.
        console.print("  [bold]Calling its models[/bold] (docs/tenants.md)")
        console.print(f"  {'credentials url':<24}{opened.get('credentials_url', '')}", soft_wrap=True)
        console.print(f"  {'session role':<24}{opened.get('role_arn', '')}", soft_wrap=True)
        console.print(f"  {'principals':<24}{', '.join(opened.get('principals') or [])}", soft_wrap=True)
        console.print(f"  {'get credentials':<24}python examples/tenant_app.py credentials --url {opened.get('credentials_url', 'URL')} "
                      f"--tenant {tenant_id}", soft_wrap=True)
    if "budget" in meta:
        b = meta["budget"]
        console.print(f"  {'budget':<24}{b['monthly_limit_usd']} USD/month, thresholds {b['thresholds']}, at red: {b['on_red']}")
    granted = [grant for key, grant in sorted(items.items()) if key.startswith("GRANT#")]
    retiring = [g for g in granted if (g.get("status") or "ACTIVE") != "ACTIVE"]
    # Every grant is ACTIVE until a retirement marks it: the status column only shows then.
    grants = new_table("Grants (allowlist)", "model", *(("status",) if retiring else ()), "application inference profile",
                       "source profile", "region", "granted at", whole=("model", "application inference profile"))
    for grant in granted:
        profile = items.get(f"PROFILE#{grant['model_id']}", {})
        # Foundation-model grants carry the tenant's profile; imported-model grants the model ARN itself.
        grants.add_row(grant["model_id"], *((styled(grant.get("status") or "ACTIVE"),) if retiring else ()),
                       grant.get("profile_arn") or grant.get("invoke_arn", ""),
                       profile.get("source_profile_id", "imported model"), profile.get("region") or grant.get("region", ""),
                       grant["granted_at"])
    print_table(grants)
    for grant in granted:  # whole, never folded: copied into a modelId
        console.print(f"  modelId for {grant['model_id']}: {grant.get('profile_arn') or grant.get('invoke_arn', '')}", soft_wrap=True)
    for grant in retiring:
        console.print(f"  {grant['model_id']}: {styled(grant['status'])}, access ends {_date_and_delay(grant.get('retire_at'))}"
                      + (f"; successor {grant['successor']}" if grant.get("successor") else "")
                      + (f" (retirement {grant['retirement_id']})" if grant.get("retirement_id") else ""))
    return True


# --- models -----------------------------------------------------------------------------------------

def model_versions(hub: Hub, model_name: str | None = None) -> list[dict]:
    ddb = hub.client("dynamodb")
    if model_name:
        pages = ddb.get_paginator("query").paginate(
            TableName=hub.output("RegistryTableName"), KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
            ExpressionAttributeValues={":pk": {"S": f"MODEL#{model_name}"}, ":v": {"S": "VERSION#"}}, ConsistentRead=True)
    else:
        pages = ddb.get_paginator("scan").paginate(
            TableName=hub.output("RegistryTableName"), FilterExpression="kind = :k",
            ExpressionAttributeValues={":k": {"S": "model-version"}})
    versions = [from_item(i) for page in pages for i in page["Items"]]
    return sorted(versions, key=lambda v: (v["model_name"], [int(p) for p in v["version"].split(".")]))


def print_models(hub: Hub) -> None:
    table = new_table("Models", "model", "version", "status", "architecture", "base model", "imported model", "reason", "updated",
                      whole=("imported model",))
    for v in model_versions(hub):
        table.add_row(v["model_name"], v["version"], styled(v["status"]), (v.get("checks") or {}).get("architecture", ""),
                      v.get("base_model", ""), v.get("imported_model_arn") or "", v.get("failure_reason", ""), v.get("updated_at", ""))
    print_table(table)


def _evaluation_line(evaluation: dict | None) -> str | None:
    if not evaluation:
        return None
    aggregate = evaluation["aggregate"]
    shown = ", ".join(f"{k} {aggregate[k]}" for k in ("token_f1", "rouge_l", "exact_match", "latency_p95_ms", "error_rate") if k in aggregate)
    return f"{'passed' if evaluation['passed'] else 'failed'} ({evaluation['policy']}): {shown}"


def print_model(hub: Hub, model_name: str) -> bool:
    versions = model_versions(hub, model_name)
    if not versions:
        console.print(f"[red]no model {model_name!r} in the registry[/red]")
        return False
    for v in versions:
        console.print(f"[bold]{model_name} {v['version']}[/bold]  {styled(v['status'])}")
        lineage = v.get("lineage") or {}
        for label, value in (("artifacts", v.get("artifacts")), ("base model", v.get("base_model")),
                             ("training job", lineage.get("training_job")), ("datasets", ", ".join(lineage.get("datasets", []))),
                             ("code revision", lineage.get("code_revision")), ("submitted by", v.get("submitted_by")),
                             ("checks", v.get("checks")), ("import job", v.get("import_job_arn")),
                             ("imported model", v.get("imported_model_arn")), ("requested tenants", v.get("requested_tenants")),
                             ("evaluation", _evaluation_line(v.get("evaluation"))), ("approved by", v.get("approved_by")),
                             ("rejected", f"{v.get('rejected_by')}: {v.get('rejection_reason')}" if v.get("rejected_by") else None),
                             ("failure", f"{v.get('failure_error')}: {v.get('failure_reason')}" if v.get("failure_error") else None)):
            if value:
                console.print(f"  {label:<18}{value}")
        retirements = retirement_records(hub, f"{model_name}:{v['version']}")
        if retirements:
            print_retirements(retirements, title=f"Retirements of {model_name} {v['version']}")
    print_audit(hub, f"model#{model_name}")
    return True


def print_evaluation(hub: Hub, model_name: str, version: str) -> bool:
    found = [v for v in model_versions(hub, model_name) if v["version"] == version]
    evaluation = found[0].get("evaluation") if found else None
    if not evaluation:
        console.print(f"[red]no evaluation of {model_name} {version}[/red]")
        return False
    bucket, key = evaluation["result_uri"][5:].split("/", 1)
    result = json.loads(hub.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    verdict = "[green]passed[/green]" if evaluation["passed"] else "[red]failed[/red]"
    console.print(f"[bold]{model_name} {version}[/bold]  policy {evaluation['policy']}  gate {verdict}  status {styled(found[0]['status'])}")
    thresholds = {f["metric"]: f for f in evaluation.get("failures", [])}
    table = new_table("Metrics", "metric", "value", "threshold", "result")
    for metric, value in result["aggregate"].items():
        failure = thresholds.get(metric)
        table.add_row(metric, str(value), f"{failure['op']} {failure['threshold']}" if failure else "",
                      "[red]fails[/red]" if failure else "")
    print_table(table)
    from genai_hub.metrics import worst_items

    worst = new_table("Worst items", "id", "tags", "token F1", "ROUGE-L", "exact", "latency ms", "error", "refused", "banned")
    for item in worst_items(result):
        worst.add_row(item["id"], ",".join(item.get("tags") or []), str(item["token_f1"]), str(item["rouge_l"]), str(item["exact_match"]),
                      str(item.get("latency_ms")), str(item.get("error") or ""), str(item.get("refused")), str(item.get("banned")))
    print_table(worst)
    console.print(f"full result: {evaluation['result_uri']}")
    return True


# --- retirements -------------------------------------------------------------------------------------

def retirement_records(hub: Hub, model_id: str) -> list[dict]:
    """The retirements of one model version (pk MODEL#<model_id>, sk RETIREMENT#<id>), oldest first."""
    pages = hub.client("dynamodb").get_paginator("query").paginate(
        TableName=hub.output("RegistryTableName"), KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{model_id}"}, ":r": {"S": "RETIREMENT#"}}, ConsistentRead=True)
    found = [from_item(i) for page in pages for i in page["Items"]]
    return sorted((r for r in found if r.get("kind") == "retirement"), key=lambda r: r.get("requested_at", ""))


def model_lifecycles(hub: Hub) -> list[dict]:
    """Each foundation model tenants hold, with Bedrock's lifecycle (ListFoundationModels), its holders,
    its retirements and whether the lifecycle watch started one (genai_hub.lifecycle_watch)."""
    from genai_hub import lifecycle_watch

    rows = []
    for model in hub.client("bedrock").list_foundation_models()["modelSummaries"]:
        model_id, lifecycle = model["modelId"], model.get("modelLifecycle") or {"status": "ACTIVE"}
        held = sorted({g["tenant_id"] for g in _index_items(hub, f"MODEL#{model_id}") if g.get("kind") == "grant" and not g.get("revoked_at")})
        if not held:
            continue
        marker = hub.client("dynamodb").get_item(TableName=hub.output("RegistryTableName"), ConsistentRead=True, Key={
            "pk": {"S": lifecycle_watch.MARKER_PK}, "sk": {"S": f"MODEL#{model_id}"}}).get("Item")
        when = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in lifecycle.items()}
        rows.append({"model_id": model_id, "status": lifecycle["status"], "legacy_time": when.get("legacyTime"),
                     "end_of_life_time": when.get("endOfLifeTime"), "holders": held,
                     "successor": lifecycle_watch.successors().get(model_id),
                     "watch_retirement": from_item(marker).get("retire_at") if marker else None,
                     "retirements": [{k: r.get(k) for k in ("scope", "status", "retire_at", "successor")}
                                     for r in retirement_records(hub, model_id)]})
    return rows


def print_model_lifecycles(rows: list[dict]) -> None:
    table = new_table("Foundation models your tenants hold, as Bedrock's lifecycle lists them", "model", "status",
                      "legacy since", "end of life", "tenants", "successor", "retirement")
    for r in rows:
        retiring = "; ".join(f"{x['status']} {x['retire_at']}" for x in r["retirements"]) or (
            f"started for {r['watch_retirement']}" if r["watch_retirement"] else "")
        table.add_row(r["model_id"], styled(r["status"]), r["legacy_time"] or "", r["end_of_life_time"] or "",
                      ", ".join(r["holders"]), r["successor"] or "", retiring)
    print_table(table)
    if not any(r["status"] == "LEGACY" for r in rows):
        console.print("no model your tenants hold is in Legacy; the lifecycle watch polls daily (LifecycleWatchSchedule)")


def poll_model_lifecycles(hub: Hub) -> int:
    """Invoke the lifecycle watch now, as its schedule does (lambda:InvokeFunction on LifecycleWatchFunctionName)."""
    result = _invoke(hub, "LifecycleWatchFunctionName", "the lifecycle watch")
    if result is None:
        return 1
    for started in result["started"]:
        console.print(f"retirement requested: {started['model_id']} for {', '.join(started['tenants'])} at {started['retire_at']}"
                      f"{' (successor ' + started['successor'] + ')' if started.get('successor') else ''}", soft_wrap=True)
    for left in result["left_alone"]:
        console.print(f"left alone: {left['model_id']}: {left['why']}")
    console.print(f"{result['models_checked']} models checked; {len(result['started'])} retirement(s) requested")
    return 0


def all_retirements(hub: Hub) -> list[dict]:
    pages = hub.client("dynamodb").get_paginator("scan").paginate(
        TableName=hub.output("RegistryTableName"), FilterExpression="kind = :k",
        ExpressionAttributeValues={":k": {"S": "retirement"}})
    return sorted((from_item(i) for page in pages for i in page["Items"]), key=lambda r: (r["model_id"], r.get("requested_at", "")))


def scope_text(scope, sep: str = ", ") -> str:
    return "all tenants" if scope == "all" else sep.join(scope)


def _date_and_delay(moment: str | None) -> str:
    """2026-12-31T00:00:00Z (in 40 days) / (3 s ago)."""
    if not moment:
        return ""
    try:
        delta = (datetime.fromisoformat(moment.replace("Z", "+00:00")) - datetime.now(timezone.utc)).total_seconds()
    except ValueError:
        return moment
    seconds = abs(delta)
    amount = (f"{seconds / 86400:.0f} days" if seconds >= 2 * 86400 else f"{seconds / 3600:.0f} h" if seconds >= 7200
              else f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s")
    return f"{moment} ({'in ' + amount if delta >= 0 else amount + ' ago'})"


def print_retirements(records: list[dict], title: str = "Retirements") -> None:
    table = new_table(title, "model", "scope", "status", "retires at", "successor", "tenants", "revoked", "profiles deleted",
                      "imported model deleted", "requested by", "reason / end")
    for r in records:
        ended = r["status"] in ("COMPLETED", "CANCELLED", "FAILED")
        end = (f"cancelled by {r.get('ended_by', '?')}: {r.get('end_reason', '')}" if r["status"] == "CANCELLED"
               else f"failed: {r.get('end_reason', '')}" if r["status"] == "FAILED" else r.get("reason", ""))
        table.add_row(r["model_id"], scope_text(r["scope"]), styled(r["status"]), r["retire_at"] if ended else _date_and_delay(r["retire_at"]),
                      r.get("successor") or "", str(r.get("tenant_count", "")), str(r.get("tenants_revoked", "")),
                      str(r.get("profiles_deleted", "")),
                      "" if r.get("target") != "imported" or "imported_model_deleted" not in r else ("yes" if r["imported_model_deleted"] else "no"),
                      r.get("requested_by", ""), end)
    print_table(table)


def print_retirement_impact(impact: dict) -> None:
    """The output of a dry run: who would lose what, when."""
    console.print(f"[bold]dry run[/bold]: retiring {impact['model_id']} ({impact['kind']} model) for {scope_text(impact['scope'])} "
                  f"on {impact['retire_at']} would:")
    table = new_table(None, "would", "what", show_header=False)
    tenants = impact.get("tenants") or []
    shown = ", ".join(tenants) + (f" (and {impact['tenant_count'] - len(tenants)} more)" if impact["tenant_count"] > len(tenants) else "")
    table.add_row("notify, then revoke", f"{impact['tenant_count']} tenant(s): {shown or 'none'}")
    table.add_row("delete inference profiles", str(impact["profile_count"]))
    table.add_row("tenants keeping it", str(impact["tenants_remaining"]))
    if impact["kind"] == "imported":
        table.add_row("delete the imported model", "yes, no tenant keeps it" if impact["would_delete_imported_model"]
                      else "no, other tenants keep it")
    if impact.get("not_granted"):
        table.add_row("listed, without a grant", ", ".join(impact["not_granted"]))
    table.add_row("successor", impact.get("successor") or "none")
    print_table(table)
    console.print("nothing was changed")


def print_retirement_scheduled(record: dict, cancel_hint: str) -> None:
    console.print(f"[bold]scheduled[/bold]: {record['model_id']} retires for {scope_text(record['scope'])} at "
                  f"{_date_and_delay(record['retire_at'])}; {record.get('tenant_count', 0)} tenant(s) notified "
                  f"(ModelRetirementScheduled), their grants RETIRING" + (f"; successor {record['successor']}" if record.get("successor") else ""))
    if record.get("not_granted"):
        console.print(f"  [yellow]listed without a grant of it[/yellow] (nothing to revoke): {', '.join(record['not_granted'])}")
    console.print(f"  the hub revokes at the date on its own; cancel before then with: {cancel_hint}")


def print_retirement_outcome(hub: Hub, retired: dict, plan: dict) -> None:
    revoked = retirement_tenants(hub, retired["model_id"], retired["retirement_id"])
    shown = ", ".join(revoked[:20]) + (f" (and {len(revoked) - 20} more)" if len(revoked) > 20 else "")
    console.print(f"[bold]retired[/bold] {retired['model_id']} for {scope_text(retired['scope'])} ({retired['status']}): "
                  f"{retired['tenants_revoked']} tenant(s) revoked{': ' + shown if shown else ''}; "
                  f"{retired['profiles_deleted']} inference profile(s) deleted; {retired['tenants_remaining']} tenant(s) keep it")
    if plan.get("kind") == "imported" or retired.get("imported_model_deleted"):
        console.print(f"  imported model {plan.get('imported_model_arn') or ''}: "
                      + ("deleted in Bedrock" if retired["imported_model_deleted"] else "kept (other tenants hold it)"))
    if plan.get("successor") or retired.get("successor"):
        console.print(f"  successor: {retired.get('successor')}")


def retirement_tenants(hub: Hub, model_id: str, rid: str) -> list[str]:
    """The tenants of a retirement, from its batch items."""
    pages = hub.client("dynamodb").get_paginator("query").paginate(
        TableName=hub.output("RegistryTableName"), KeyConditionExpression="pk = :pk AND begins_with(sk, :b)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{model_id}"}, ":b": {"S": f"RETIREMENT-BATCH#{rid}#"}}, ConsistentRead=True)
    return [t["tenant_id"] for page in pages for i in page["Items"] for t in from_item(i).get("tenants", [])]


# --- executions -------------------------------------------------------------------------------------

def state_machine_arns(hub: Hub) -> dict[str, str]:
    return {k.removesuffix("StateMachineArn"): v for k, v in hub.outputs.items() if k.endswith("StateMachineArn")}


def list_executions(hub: Hub) -> list[dict]:
    sfn = hub.client("stepfunctions")
    found = []
    for workflow, arn in state_machine_arns(hub).items():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            found.extend({**e, "workflow": workflow} for e in page["executions"])
    return sorted(found, key=lambda e: e["startDate"])


def _seconds(start, stop) -> str:
    if not (isinstance(start, datetime) and isinstance(stop, datetime)):
        return ""
    return f"{(stop - start).total_seconds():.2f}s"


def print_executions(hub: Hub) -> None:
    # The name whole: `hubctl executions show NAME` takes it.
    table = new_table("Executions", "workflow", "name", "status", "started", "duration", "execution ARN",
                      whole=("name", "execution ARN"))
    for e in list_executions(hub):
        table.add_row(e["workflow"], e["name"], styled(e["status"]), e["startDate"].strftime("%H:%M:%S"),
                      _seconds(e["startDate"], e.get("stopDate")), e["executionArn"])
    print_table(table)


def execution_history(hub: Hub, execution_arn: str) -> list[dict]:
    sfn = hub.client("stepfunctions")
    return [e for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn) for e in page["events"]]


def execution_steps(hub: Hub, execution_arn: str) -> list[dict]:
    """The states an execution went through: name, outcome, duration, error."""
    events = execution_history(hub, execution_arn)
    steps, current = [], None
    for ev in events:
        kind = ev["type"]
        if kind.endswith("StateEntered"):
            current = {"state": ev["stateEnteredEventDetails"]["name"], "entered": ev["timestamp"], "outcome": "entered", "error": ""}
            steps.append(current)
        elif kind.endswith("StateExited") and current:
            current["outcome"], current["exited"] = "ok", ev["timestamp"]
        elif current and (kind.endswith("Failed") or kind.endswith("TimedOut")) and kind != "ExecutionFailed":
            details = next((v for k, v in ev.items() if k.endswith("EventDetails")), {})
            current["outcome"] = "error"
            current["error"] = details.get("error", kind)
        elif kind == "ExecutionFailed" and current:
            current["outcome"] = "failed"
            current["error"] = ev.get("executionFailedEventDetails", {}).get("error", "")
    for step in steps:
        step["duration"] = _seconds(step["entered"], step.get("exited"))
        if step["outcome"] == "error" and "exited" in step:
            step["outcome"] = "caught"
    return steps


def print_execution(hub: Hub, execution_arn: str) -> dict:
    sfn = hub.client("stepfunctions")
    d = sfn.describe_execution(executionArn=execution_arn)
    console.print(f"[bold]{d['name']}[/bold]  {styled(d['status'])}  {_seconds(d['startDate'], d.get('stopDate'))}")
    if d.get("error"):
        console.print(f"  error: {d['error']}: {d.get('cause', '')}")
    table = new_table(None, "state", "outcome", "duration", "error")
    for step in execution_steps(hub, execution_arn):
        table.add_row(step["state"], step["outcome"], step["duration"], step["error"])
    print_table(table)
    return d


# --- audit ------------------------------------------------------------------------------------------

def print_audit(hub: Hub, stream: str | None = None) -> int:
    table_name = hub.output("AuditTableName")
    streams = audit.read_all(table_name, hub.client("dynamodb"))
    selected = {stream: streams.get(stream, [])} if stream else streams
    count = 0
    for name, records in sorted(selected.items()):
        table = new_table(f"Audit trail {name}", "seq", "time", "workflow", "action", "outcome", "actor", "detail", "hash")
        for r in records:
            detail = json.loads(r["detail"]) if isinstance(r.get("detail"), str) else r.get("detail")
            table.add_row(str(r["seq"]), r["ts"][11:23], r["workflow"], r["action"], styled(r["outcome"]), r["actor"],
                          json.dumps(detail), r["hash"][:12])  # the detail whole: it holds ARNs
            count += 1
        print_table(table)
    if stream and not selected[stream]:
        console.print(f"[yellow]no audit records for {stream}[/yellow]")
    return count


# What a person does about each problem that only the digests show (the chain's own: docs/operations.md#5).
DIGEST_ADVICE = {
    "tail-removed": "records were deleted from the audit table after that digest: restore the table to before (point-in-time "
                    "recovery, docs/operations.md#5-verifying-the-audit-trail); the daily exports (exports/audit/) keep a locked copy",
    "stream-deleted": "the whole stream was deleted from the audit table: restore it as for a removed tail",
    "rewritten": "the stream was rewritten with fresh hashes after that digest: the digest's hash is the true one; restore the "
                 "table to before and find who wrote to it outside the hub's roles (CloudTrail, DynamoDB PutItem/DeleteItem)",
    "digest-unsigned": "an object under digests/ that the digest function did not write: find its writer in CloudTrail (S3 data "
                       "events); the digests the hub wrote are unaffected",
    "digest-tampered": "this version of the digest is not what the digest function signed: find its writer in CloudTrail (S3 data "
                       "events); the locked version the hub wrote is still in the bucket (aws s3api list-object-versions)",
    "digest-missing": "a digest the chain of digests needs is gone or replaced: list its versions (aws s3api list-object-versions "
                      "--prefix digests/); Object Lock keeps every version the hub wrote",
    "digest-overwritten": "someone wrote over a locked digest: find the writer in CloudTrail (S3 data events, PutObject on the key); "
                          "verification keeps using the first version, which Object Lock protects",
    "not-anchored": "choose a time at or after the first digest, or write one now with `hubctl audit digest`",
}


def verify_audit(hub: Hub, at: str | None = None) -> list:
    """Every chain recomputed (genai_hub.audit.verify_chain) and set against the signed digests of the
    chains' heads, when the stack has them (genai_hub.digests.verify); with `at`, the trail as of then.
    Prints each problem and what to do; returns them (empty: the trail is intact)."""
    from genai_hub import digests

    streams = audit.read_all(hub.output("AuditTableName"), hub.client("dynamodb"))
    bucket, key_arn = hub.outputs.get("AuditDigestBucketName"), hub.outputs.get("AuditDigestKeyArn")
    found = digests.load(bucket, key_arn, hub.client("s3"), hub.client("kms")) if bucket and key_arn else []
    problems = digests.verify(streams, found, at)
    for p in problems:
        if p.digest is None and p.seq is not None:  # a chain's own problem, as before the digests
            console.print(f"[red]TAMPERED[/red] {p.subject} seq {p.seq}: {p.kind}: {p.message}")
        else:
            console.print(f"[red]TAMPERED[/red] {p.kind}: {p.message}")
        if p.kind in DIGEST_ADVICE:
            console.print(f"  what to do: {DIGEST_ADVICE[p.kind]}")
    if problems:
        console.print(f"[red]{len(problems)} problem(s)[/red] in the audit trail" + (f" as of {at}" if at else ""))
        return problems
    anchor = digests.reference(found, at)
    if at:
        heads = {h["stream"]: h["seq"] for h in anchor.document["streams"]}
        console.print(f"[green]audit trail as of {at} intact[/green]: digest {anchor.time} ({anchor.key}) proves "
                      f"{len(heads)} chains, {sum(heads.values())} records up to the heads it recorded")
        return problems
    total = sum(len(r) for r in streams.values())
    console.print(f"[green]audit trail intact[/green]: {len(streams)} chains, {total} records verified")
    if not bucket:
        console.print("[yellow]this stack has no audit digests[/yellow]: deploy the current template.yaml to anchor the trail")
    elif anchor is None:
        console.print("[yellow]no digest yet[/yellow]: a removed tail or a rewritten chain cannot be detected until one is "
                      "written (hourly, or now: hubctl audit digest)")
    else:
        console.print(f"anchored by {sum(1 for d in found if d.authentic)} signed digest(s); every stream matches the heads they "
                      f"recorded; records appended after the newest, {anchor.time}, are anchored by the next one")
    return problems


def _invoke(hub: Hub, output: str, what: str, payload: dict | None = None) -> dict | None:
    """Invoke the hub function the stack output names, as its schedule does; its result, or None after
    saying why it failed."""
    answer = hub.client("lambda").invoke(FunctionName=hub.output(output),
                                         Payload=json.dumps({"requested_by": "hubctl", **(payload or {})}).encode())
    result = json.loads(answer["Payload"].read() or b"null") or {}
    if answer.get("FunctionError"):
        console.print(f"[red]{what} failed[/red]: {result.get('errorType')}: {result.get('errorMessage')} "
                      "(its logs: the functions' log group of the stack)")
        return None
    return result


def export_usage(hub: Hub, day: str) -> int:
    """Invoke the usage export for `day` (lambda:InvokeFunction on UsageExportFunctionName)."""
    result = _invoke(hub, "UsageExportFunctionName", "the usage export", {"date": day})
    if result is None:
        return 1
    console.print(f"exported {day}: {result['rows']} FOCUS rows, {result['usd']} USD, to s3://{result['bucket']}/{result['key']}",
                  soft_wrap=True)
    return 0


def write_audit_digest(hub: Hub) -> int:
    """Invoke the digest function, as its schedule does: only its role may sign (the key policy), so an
    operator needs lambda:InvokeFunction on it and nothing else. Lambda Invoke:
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html"""
    result = _invoke(hub, "AuditDigestFunctionName", "the digest function")
    if result is None:
        return 1
    where = f"s3://{hub.outputs.get('AuditDigestBucketName', '<bucket>')}/{result['key']}"
    if not result.get("written"):
        console.print(f"[yellow]not written[/yellow]: {result.get('reason')}")
        return 0
    follows = f"follows {result['previous_digest']}" if result.get("previous_digest") else "the first digest"
    console.print(f"[green]digest written[/green]: {where}", soft_wrap=True)
    console.print(f"  {result['digest_time']}: {result['streams']} chains, {result['records']} records; {follows}; "
                  f"sha256 {result['sha256']}", soft_wrap=True)
    return 0


# --- budgets ----------------------------------------------------------------------------------------

LEVEL_STYLE = {"GREEN": "green", "YELLOW": "yellow", "ORANGE": "dark_orange", "RED": "bold red"}
STATUS_STYLE["SUSPENDED"] = "bold red"
_BLOCKS = " ▏▎▍▌▋▊▉█"


def level_text(level: str | None) -> str:
    if not level:
        return ""
    style = LEVEL_STYLE.get(level, "white")
    return f"[{style}]{level}[/{style}]"


def budget_thresholds(meta: dict) -> dict[str, float]:
    """A tenant's yellow and orange fractions (stored as strings or numbers; defaults when absent)."""
    stored = (meta.get("budget") or {}).get("thresholds") or {}
    return {name: float(stored.get(name, default)) for name, default in config.default_budget_thresholds().items()}


def _index_items(hub: Hub, key: str) -> list[dict]:
    """Every registry item whose gsi1pk is `key`: one paged query on the ByModel index, never a scan."""
    pages = hub.client("dynamodb").get_paginator("query").paginate(
        TableName=hub.output("RegistryTableName"), IndexName="ByModel", KeyConditionExpression="gsi1pk = :k",
        ExpressionAttributeValues={":k": {"S": key}})
    return [from_item(i) for page in pages for i in page["Items"]]


def month_usage(hub: Hub, month: str) -> list[dict]:
    """Every tenant's usage item of a month (TENANT#<id> / USAGE#<month>)."""
    return _index_items(hub, f"USAGE#{month}")


def indexed_tenants(hub: Hub) -> dict[str, dict]:
    """Every tenant's META item (gsi1pk TENANTS)."""
    return {t["tenant_id"]: t for t in _index_items(hub, TENANTS_KEY)}


def hub_budget(hub: Hub, month: str) -> tuple[dict | None, dict]:
    """The hub's usage item of a month (HUB / USAGE#<month>) and its level item (HUB / META)."""
    ddb, table = hub.client("dynamodb"), hub.output("RegistryTableName")
    found = [ddb.get_item(TableName=table, Key={"pk": {"S": "HUB"}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")
             for sk in (f"USAGE#{month}", "META")]
    return (from_item(found[0]) if found[0] else None), (from_item(found[1]) if found[1] else {})


def level_in_force(usage: dict, meta: dict) -> str:
    """The level acted on for the usage item's month: the META's while it is that month's (it carries
    the hysteresis), else the item's own assessment (a closed month's, as of its last second)."""
    if meta.get("budget_level") and meta.get("budget_level_month") == usage.get("month"):
        return meta["budget_level"]
    return usage.get("level", "")


def _dec(value) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _usd(value) -> str:
    return f"{_dec(value):,.2f}"


def _count(n: int) -> str:
    """1,234 / 12.3k / 4.56M: token counts stay readable in a narrow column."""
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else f"{n:,}"


def _totals(usage: dict) -> tuple[int, int, int]:
    models = (usage.get("models") or {}).values()
    return (sum(int(m.get("invocations", 0)) for m in models), sum(int(m.get("input_tokens", 0)) for m in models),
            sum(int(m.get("output_tokens", 0)) for m in models))


def _share(part, whole) -> str:
    return f"{_dec(part) / _dec(whole):.0%}" if _dec(whole) > 0 else ""


def _spent(item: dict) -> Decimal:
    """Month to date as a fraction of the limit (0 without one)."""
    limit = _dec(item.get("limit_usd"))
    return _dec(item.get("month_to_date_usd")) / limit if limit > 0 else Decimal(0)


def level_rank(level: str | None) -> int:
    """GREEN 0 ... RED 3; -1 for no level (nothing assessed yet)."""
    from genai_hub.budget import LEVELS

    return LEVELS.index(level) if level in LEVELS else -1


def print_usage(hub: Hub, month: str) -> None:
    """Every tenant's month: spend, forecast, limit, level and status, hottest first; then the hub."""
    from genai_hub import pricing

    usage, tenants = month_usage(hub, month), indexed_tenants(hub)
    levels = {i["tenant_id"]: level_in_force(i, tenants.get(i["tenant_id"], {})) for i in usage}
    # Hottest first: the highest level, then the largest share of the limit spent.
    usage.sort(key=lambda i: (-level_rank(levels[i["tenant_id"]]), -_spent(i), i["tenant_id"]))
    table = new_table(f"Usage and budget levels, {month} (USD)", "tenant", "status", "level", "month to date", "forecast",
                      "limit", "% of limit", "invocations", "input tokens", "output tokens", "as of")
    for item in usage:
        tenant_id, meta, level = item["tenant_id"], tenants.get(item["tenant_id"], {}), levels[item["tenant_id"]]
        invocations, tokens_in, tokens_out = _totals(item)
        held = f" (assessed {item['level']}, held)" if item.get("level") and item["level"] != level else ""
        table.add_row(tenant_id, styled(meta.get("status", "?")), level_text(level) + held, _usd(item.get("month_to_date_usd")),
                      _usd(item.get("forecast_usd")), _usd(item.get("limit_usd")),
                      _share(item.get("month_to_date_usd"), item.get("limit_usd")), f"{invocations:,}", _count(tokens_in),
                      _count(tokens_out), item.get("assessed_at", ""))
    print_table(table)
    metered = {i["tenant_id"] for i in usage}
    unmetered = sorted(t for t, m in tenants.items() if t not in metered and m.get("budget") and m.get("status") in ("ACTIVE", "SUSPENDED"))
    if unmetered:
        console.print(f"  no usage metered for {month}: {', '.join(unmetered[:20])}" + (f" (and {len(unmetered) - 20} more)" if len(unmetered) > 20 else ""))
    hub_item, hub_meta = hub_budget(hub, month)
    if hub_item:
        level = level_in_force(hub_item, hub_meta)
        console.print(f"[bold]hub[/bold] {level_text(level)}: month to date {_usd(hub_item['month_to_date_usd'])} USD, forecast "
                      f"{_usd(hub_item['forecast_usd'])} USD, hub budget {_usd(hub_item['limit_usd'])} USD "
                      f"({_share(hub_item['month_to_date_usd'], hub_item['limit_usd'])} spent), {hub_item.get('tenants', 0)} tenant(s), "
                      f"as of {hub_item.get('assessed_at', '')}")
        for reason in hub_item.get("reasons") or []:
            console.print(f"  {reason}")
    else:
        console.print(f"[bold]hub[/bold]: no budget run has metered {month} yet (hubctl budget run)")
    console.print(f"[dim]prices: {pricing.source()}[/dim]")


def print_tenant_usage(hub: Hub, tenant_id: str, month: str) -> None:
    """One tenant's month: the figures, a chart of the daily spend against the budget's pace, usage
    per model and why the level is what it is."""
    from genai_hub import pricing
    from genai_hub.budget import days_in_month

    meta = tenant_items(hub, tenant_id).get("META", {})
    item = next((i for i in month_usage(hub, month) if i["tenant_id"] == tenant_id), None)
    budget = meta.get("budget") or {}
    thresholds = budget_thresholds(meta)
    console.print(f"[bold]{meta.get('display_name', tenant_id)}[/bold] ({tenant_id}), {month}  {styled(meta.get('status', '?'))}")
    if not item:
        console.print(f"  no usage metered for {month}" + (f"; budget {budget['monthly_limit_usd']} USD/month" if budget else ""))
        return
    level = level_in_force(item, meta)
    limit = _dec(item["limit_usd"])
    console.print(f"  level {level_text(level)}" + (f" (assessed {item['level']}, held by hysteresis)" if item.get("level") != level else "")
                  + f", as of {item.get('assessed_at', '')}; metered until {item.get('metered_until', '')}")
    console.print(f"  month to date {_usd(item['month_to_date_usd'])} USD of {_usd(limit)} USD ({_share(item['month_to_date_usd'], limit)}), "
                  f"month-end forecast {_usd(item['forecast_usd'])} USD")
    console.print(f"  thresholds: yellow {thresholds['yellow']:.0%} ({_usd(limit * _dec(thresholds['yellow']))} USD), orange "
                  f"{thresholds['orange']:.0%} ({_usd(limit * _dec(thresholds['orange']))} USD), red above the limit; "
                  f"at red: {budget.get('on_red', 'suspend')}")
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=timezone.utc)
    print_daily_chart(item.get("days") or {}, limit / days_in_month(first))
    models = new_table("Usage per model", "model", "invocations", "input tokens", "output tokens", "USD", "price in / out per 1k")
    for model_id, used in sorted((item.get("models") or {}).items()):
        try:
            price = pricing.unit_price(model_id)
            unit = f"{price.input_per_1k} / {price.output_per_1k}"
        except Exception:  # PriceMissing: metering would have failed first; show the row anyway
            unit = "not in the price table"
        models.add_row(model_id, f"{int(used['invocations']):,}", f"{int(used['input_tokens']):,}", f"{int(used['output_tokens']):,}",
                       _usd(used["usd"]), unit)
    print_table(models)
    reasons = item.get("reasons") or []
    console.print("  why: " + ("; ".join(reasons) if reasons else "month-end forecast within the yellow threshold"))
    console.print(f"[dim]prices: {pricing.source()}[/dim]")


def print_daily_chart(days: dict, pace, width: int = 40) -> None:
    """A bar per day (unicode blocks, eighths of a cell) with the budget's daily pace marked `│`:
    bars past the mark spend faster than the budget allows."""
    from rich.text import Text

    if not days:
        return
    values = {day: _dec(v) for day, v in sorted(days.items())}
    top = max([*values.values(), pace]) or 1
    scale, mark = width / top, min(width - 1, int(pace * width / top))
    console.print(f"  daily spend (USD); │ = the budget's pace, {_usd(pace)} USD a day")
    running = 0
    for day, value in values.items():
        running += value
        eighths = int(round(value * scale * 8))
        full, part = divmod(eighths, 8)
        bar = "█" * full + (_BLOCKS[part] if part else "")
        line = Text(f"  {day[5:]} ")
        line.append(bar, style="dark_orange" if value > pace else "green")
        if len(bar) <= mark:
            line.append(" " * (mark - len(bar)))
            line.append("│", style="dim")
            line.append(" " * (width - mark - 1))
        else:
            line.append(" " * (width - len(bar)))
        line.append(f" {value:>8.2f}  month to date {running:>8.2f}")
        console.print(line)


def usage_chart_panels(hub: Hub, month: str, tenant_id: str | None = None, most: int = 24) -> tuple[list[dict], int]:
    """What write_usage_png draws: the hub (for all tenants) then each tenant, hottest first, at most `most`;
    and how many tenants were left out."""
    usage, tenants = month_usage(hub, month), indexed_tenants(hub)
    panels = []
    if tenant_id is None:
        hub_item, hub_meta = hub_budget(hub, month)
        if hub_item:
            panels.append({"title": f"hub, {hub_item.get('tenants', 0)} tenant(s)", "days": hub_item.get("days") or {},
                           "limit": _dec(hub_item["limit_usd"]), **config.default_budget_thresholds(),
                           "level": level_in_force(hub_item, hub_meta)})
    chosen = [i for i in usage if tenant_id in (None, i["tenant_id"])]
    chosen.sort(key=lambda i: (-_spent(i), i["tenant_id"]))
    for item in chosen[:most]:
        meta = tenants.get(item["tenant_id"], {})
        thresholds = budget_thresholds(meta)
        panels.append({"title": f"{item['tenant_id']} ({meta.get('status', '?')})", "days": item.get("days") or {},
                       "limit": _dec(item["limit_usd"]), "yellow": thresholds["yellow"], "orange": thresholds["orange"],
                       "level": level_in_force(item, meta)})
    return panels, max(0, len(chosen) - most)


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed (it is only needed for --png)."""


def write_usage_png(path: str, month: str, panels: list[dict]) -> None:
    usage_figure(month, panels).savefig(path, format="png", dpi=100)


def usage_figure(month: str, panels: list[dict]):
    """Two charts per panel, each on one scale: month to date against the limit and the yellow and
    orange thresholds (the question "how close is it?"), and the daily spend (the question "when
    did it spend?"). On one chart with two axes a 0.16 USD day looked as high as a 5,000 USD limit.
    A panel with nothing metered says so instead of drawing empty axes."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ChartUnavailable("--png needs matplotlib: pip install matplotlib (pinned in requirements/runtime.lock)") from None
    from genai_hub.budget import days_in_month

    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=timezone.utc)
    n_days = days_in_month(first)
    colours = {"GREEN": "tab:green", "YELLOW": "goldenrod", "ORANGE": "darkorange", "RED": "tab:red"}
    figure = Figure(figsize=(11, 3.0 * len(panels)), layout="constrained")
    rows = figure.subplots(len(panels), 2, squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
    for (progress, days), panel in zip(rows, panels):
        x = list(range(1, n_days + 1))
        daily = [float(_dec(panel["days"].get(f"{month}-{d:02d}", 0))) for d in x]
        metered = [d for d in x if f"{month}-{d:02d}" in panel["days"]]
        running, line = 0.0, []
        for d in metered:
            running += daily[d - 1]
            line.append(running)
        limit = float(panel["limit"])
        level = panel.get("level") or ""
        progress.set_title(f"{panel['title']}: {level}", color=colours.get(level, "black"), loc="left")
        progress.plot(metered, line, color="black", marker=".", label=f"month to date {running:,.2f}")
        progress.axhline(limit, color="tab:red", label=f"limit {limit:,.2f}")
        progress.axhline(limit * panel["orange"], color="darkorange", linestyle="--", label=f"orange {panel['orange']:.0%}")
        progress.axhline(limit * panel["yellow"], color="goldenrod", linestyle=":", label=f"yellow {panel['yellow']:.0%}")
        progress.set_ylim(0, max([limit * 1.1, *line]) * 1.05)
        progress.set_xlim(0.5, n_days + 0.5)
        progress.set_ylabel("USD, month to date")
        progress.legend(loc="center right", fontsize="small")  # month to date rises from the lower left
        days.bar(x, daily, color="tab:blue", alpha=0.7)
        days.set_xlim(0.5, n_days + 0.5)
        days.set_ylim(0, max(daily) * 1.1 or 1)
        days.set_ylabel("USD per day")
        days.set_title("daily spend", loc="left", fontsize="small")
        if not metered:
            for axes in (progress, days):
                axes.text(0.5, 0.5, "nothing metered this month", transform=axes.transAxes, ha="center", va="center", color="grey")
        for axes in (progress, days):
            axes.set_xlabel(f"day of {month}")
    figure.suptitle(f"GenAI Hub usage, {month}")
    return figure


def budget_run_outcome(hub: Hub, execution_arn: str) -> dict:
    """What a budget run changed, from its history: the tenant level changes it applied and the hub's assessment."""
    changes, hub_result = [], {}
    for event in execution_history(hub, execution_arn):
        exited = event.get("stateExitedEventDetails") or {}
        if exited.get("name") == "Apply level change":
            applied = (json.loads(exited.get("output") or "{}").get("applied") or {})
            if applied.get("applied"):
                changes.append(applied["event"])
        elif exited.get("name") == "Assess hub":
            hub_result = json.loads(exited.get("output") or "{}").get("hub") or {}
    return {"changes": sorted(changes, key=lambda c: c["tenant_id"]), "hub": hub_result}


def print_budget_run(hub: Hub, described: dict) -> None:
    """A finished budget run: the window metered, each level change and what was done, the hub."""
    output = json.loads(described.get("output") or "{}")
    outcome = budget_run_outcome(hub, described["executionArn"])
    batches = output.get("batches") or []
    metered, skipped = sum(b.get("metered", 0) for b in batches), sum(b.get("skipped", 0) for b in batches)
    console.print(f"[bold]budget run[/bold] {styled(described['status'])} in {_seconds(described['startDate'], described.get('stopDate'))}: "
                  f"{output.get('tenants', 0)} tenant(s), {metered} metered up to {output.get('until')} ({output.get('month')})"
                  + (f", {skipped} skipped (not ACTIVE or SUSPENDED)" if skipped else ""))
    if outcome["changes"]:
        table = new_table("Level changes", "tenant", "from", "to", "action", "told", "month to date", "forecast", "limit", "why")
        for c in outcome["changes"]:
            table.add_row(c["tenant_id"], level_text(c["previous_level"]), level_text(c["level"]), c["action"], ", ".join(c["notify"]),
                          _usd(c["month_to_date_usd"]), _usd(c["forecast_usd"]), _usd(c["monthly_limit_usd"]),
                          "; ".join(c["reasons"]) or "within every threshold")
        print_table(table)
    else:
        console.print("  no tenant's level changed")
    hub_result = outcome["hub"] or output.get("hub") or {}
    if hub_result:
        change = hub_result.get("event")
        moved = (f"{level_text(change['previous_level'])} -> {level_text(change['level'])} (HubBudgetLevelChanged)" if change
                 else f"{level_text(hub_result.get('level'))} (unchanged)")
        console.print(f"  hub {moved}: month to date {_usd(hub_result.get('month_to_date_usd'))} USD, "
                      f"forecast {_usd(hub_result.get('forecast_usd'))} USD" + (f" of {_usd(change['monthly_limit_usd'])} USD" if change else ""))
