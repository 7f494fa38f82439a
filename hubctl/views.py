"""What hubctl shows: registry, executions and audit, read through the hub's APIs, rendered with rich."""
import json
import sys
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table

from genai_hub import audit
from genai_hub.registry import from_item
from hubctl.stack import Hub

# Piped output (CI logs, grep) gets a wide page rather than rich's 80-column default.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def new_table(title: str | None, *columns: str, **kwargs) -> Table:
    """A table whose cells wrap instead of being cut with an ellipsis: ids and ARNs stay whole."""
    table = Table(title=title, **kwargs)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table

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
                      str(len(t.get("default_models", []))), str(budget), t.get("failure_reason", "")[:80])
    console.print(table)


def print_tenant(hub: Hub, tenant_id: str) -> bool:
    items = tenant_items(hub, tenant_id)
    meta = items.get("META")
    if not meta:
        console.print(f"[red]no tenant {tenant_id!r} in the registry[/red]")
        return False
    console.print(f"[bold]{meta['display_name']}[/bold] ({tenant_id})  {styled(meta['status'])}")
    for key in ("data_residency", "allow_global_inference", "cost_center", "spoke_account_id", "invoke_role_arn",
                "requested_by", "created_at", "activated_at", "failure_error", "failure_reason"):
        if key in meta:
            console.print(f"  {key:<24}{meta[key]}")
    if "budget" in meta:
        b = meta["budget"]
        console.print(f"  {'budget':<24}{b['monthly_limit_usd']} USD/month, thresholds {b['thresholds']}, at red: {b['on_red']}")
    granted = [grant for key, grant in sorted(items.items()) if key.startswith("GRANT#")]
    retiring = [g for g in granted if (g.get("status") or "ACTIVE") != "ACTIVE"]
    # Every grant is ACTIVE until a retirement marks it: the status column only shows then.
    grants = new_table("Grants (allowlist)", "model", *(("status",) if retiring else ()), "application inference profile",
                       "source profile", "region", "granted at")
    for grant in granted:
        profile = items.get(f"PROFILE#{grant['model_id']}", {})
        # Foundation-model grants carry the tenant's profile; imported-model grants the model ARN itself.
        grants.add_row(grant["model_id"], *((styled(grant.get("status") or "ACTIVE"),) if retiring else ()),
                       grant.get("profile_arn") or grant.get("invoke_arn", ""),
                       profile.get("source_profile_id", "imported model"), profile.get("region") or grant.get("region", ""),
                       grant["granted_at"])
    console.print(grants)
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
    table = new_table("Models", "model", "version", "status", "architecture", "base model", "imported model / reason", "updated")
    for v in model_versions(hub):
        outcome = v.get("imported_model_arn") or v.get("failure_reason", "")
        table.add_row(v["model_name"], v["version"], styled(v["status"]), (v.get("checks") or {}).get("architecture", ""),
                      v.get("base_model", ""), outcome, v.get("updated_at", ""))
    console.print(table)


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
    console.print(table)
    from genai_hub.metrics import worst_items

    worst = new_table("Worst items", "id", "tags", "token F1", "ROUGE-L", "exact", "latency ms", "error", "refused", "banned")
    for item in worst_items(result):
        worst.add_row(item["id"], ",".join(item.get("tags") or []), str(item["token_f1"]), str(item["rouge_l"]), str(item["exact_match"]),
                      str(item.get("latency_ms")), str(item.get("error") or ""), str(item.get("refused")), str(item.get("banned")))
    console.print(worst)
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
                      r.get("requested_by", ""), end[:100])
    console.print(table)


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
    console.print(table)
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
    table = new_table("Executions", "workflow", "name", "status", "started", "duration", "execution ARN")
    for e in list_executions(hub):
        table.add_row(e["workflow"], e["name"][:36], styled(e["status"]), e["startDate"].strftime("%H:%M:%S"),
                      _seconds(e["startDate"], e.get("stopDate")), e["executionArn"])
    console.print(table)


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
    console.print(table)
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
                          json.dumps(detail)[:90], r["hash"][:12])
            count += 1
        console.print(table)
    if stream and not selected[stream]:
        console.print(f"[yellow]no audit records for {stream}[/yellow]")
    return count


def verify_audit(hub: Hub) -> list[audit.ChainProblem]:
    streams = audit.read_all(hub.output("AuditTableName"), hub.client("dynamodb"))
    problems = [p for p in (audit.verify_chain(name, records) for name, records in sorted(streams.items())) if p]
    total = sum(len(r) for r in streams.values())
    if problems:
        for p in problems:
            console.print(f"[red]TAMPERED[/red] {p.stream} seq {p.seq}: {p.kind}: {p.message}")
    else:
        console.print(f"[green]audit trail intact[/green]: {len(streams)} chains, {total} records verified")
    return problems
