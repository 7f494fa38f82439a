"""hubctl command line. Run `hubctl --help`, or `hubctl COMMAND --help` for each command."""
import argparse
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from hubctl import views
from hubctl.stack import StackNotFound, connect

EPILOG = """examples:
  hubctl demo                                   run everything on the embedded emulation
  hubctl local up --port 4566                   serve the emulation as an AWS endpoint
  hubctl --endpoint-url http://127.0.0.1:4566 onboard events/onboarding/acme-retail-us.json --wait
  hubctl tenants list                           (deployed stack, default AWS credentials)
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --reason "end of life" --dry-run
  hubctl usage --tenant acme-retail             one tenant's spend this month: level, daily chart
  hubctl budget run --wait                      meter usage now and show the level changes
  hubctl audit verify --stack-name genai-hub
"""


def _list_and_show(sub, name: str, help_: str, list_help: str, show_help: str, key: str) -> None:
    """`hubctl NAME list` and `hubctl NAME show KEY`."""
    actions = sub.add_parser(name, help=help_).add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help=list_help)
    actions.add_parser("show", help=show_help).add_argument(key)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hubctl", description="Govern the GenAI Hub: onboard tenants, import, approve and retire models, watch usage "
                                   "against budgets, inspect workflows, read and verify the audit trail.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--endpoint-url", help="AWS endpoint of a local hub (hubctl local up), e.g. http://127.0.0.1:4566")
    p.add_argument("--stack-name", default="genai-hub", help="hub stack whose outputs name the resources (default: genai-hub)")
    p.add_argument("--region", help="AWS Region (default: AWS_REGION, else us-east-1)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="deploy and run the sample workflows on the embedded emulation (no AWS account)")
    demo.add_argument("--quiet", action="store_true", help="outcomes and verification only, no per-state detail")

    local = sub.add_parser("local", help="the embedded emulation as a local AWS endpoint")
    local_sub = local.add_subparsers(dest="action", metavar="ACTION")
    up = local_sub.add_parser("up", help="deploy the hub as stack genai-hub and serve it on 127.0.0.1 until Ctrl-C")
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    up.add_argument("--no-samples", action="store_true", help="do not deploy the tenant spokes of the sample events")

    onboard = sub.add_parser("onboard", help="send a TenantOnboardingRequested event to the hub bus")
    onboard.add_argument("event_file", help="JSON file with the event detail, or an events/ sample ({detail-type, detail})")
    onboard.add_argument("--wait", action="store_true", help="wait for the onboarding execution and show its states")
    onboard.add_argument("--timeout", type=float, default=300, help="seconds to wait with --wait (default 300)")

    _list_and_show(sub, "tenants", "tenants in the registry", "all tenants with status and residency",
                   "one tenant: settings, grants, profiles", "tenant_id")
    _list_and_show(sub, "models", "imported models and their versions", "every version with status and outcome",
                   "one model: versions, lineage, import job, evaluation, audit", "model_name")

    imp = sub.add_parser("import", help="re-run the import of a research drop by hand (the upload of import.json does it on its own)")
    imp.add_argument("prefix", help="folder of the drop in the research bucket, e.g. models/support-bot/1.0.0")
    imp.add_argument("--bucket", help="research bucket (default: the hub stack's ResearchArtifactBucketName)")
    imp.add_argument("--requested-by", default=os.environ.get("USER", "hubctl"), help="who asks (audited)")

    approve = sub.add_parser("approve", help="approve a model version waiting for a human decision (evaluation gate)")
    approve.add_argument("model_name")
    approve.add_argument("version")
    approve.add_argument("--approver", default=os.environ.get("USER", "hubctl"), help="who decides (audited)")
    reject = sub.add_parser("reject", help="reject a model version waiting for a human decision")
    reject.add_argument("model_name")
    reject.add_argument("version")
    reject.add_argument("--reason", required=True, help="why (audited, sent in ModelRejected)")
    reject.add_argument("--approver", default=os.environ.get("USER", "hubctl"), help="who decides (audited)")

    evaluations = sub.add_parser("evaluations", help="evaluation results")
    ev_sub = evaluations.add_subparsers(dest="action", metavar="ACTION")
    ev_show = ev_sub.add_parser("show", help="metrics table, gate and worst items of a version's evaluation")
    ev_show.add_argument("model_name")
    ev_show.add_argument("version")

    _retire_parser(sub)
    retirements = sub.add_parser("retirements", help="model retirements").add_subparsers(dest="action", metavar="ACTION")
    retirements.add_parser("list", help="every retirement: model, scope, status, date, tenants, counts")

    _budget_parsers(sub)

    _list_and_show(sub, "executions", "workflow executions", "executions of every workflow",
                   "states, timings and errors of one execution", "execution_arn")

    bench = sub.add_parser(
        "bench", help="benchmark every workflow on the embedded emulation; writes bench/results.{json,md} and bench/scaling.png",
        description="Time each workflow's happy path (1 and N at once), its engine overhead, transitions, Lambda calls and\n"
                    "DynamoDB writes per execution priced per 1,000 (bench/prices.json), scaling of retirement and\n"
                    "onboarding, cold-start imports, and the time of hubctl demo and of the test suite.",
        epilog="examples:\n  hubctl bench                      everything (about 45 minutes on 2 cores, half of it 5,000 onboardings)\n"
               "  hubctl bench --quick              no 5,000-tenant points, no test suite (a few minutes)\n"
               "  hubctl bench --quick --sizes 100,1000,5000 --onboarding-sizes none\n"
               "                                    quick, with retirement at 5,000 and no onboarding scaling\n"
               "bench/baseline.json, when present (a run on an earlier commit), adds a before/after column.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("--concurrency", type=int, default=32, metavar="N", help="executions at once (default 32)")
    bench.add_argument("--sizes", metavar="N,N",
                       help="tenants holding the model retired in the scaling runs (default 100,1000,5000; 'none' skips)")
    bench.add_argument("--onboarding-sizes", metavar="N,N",
                       help="concurrent onboardings in the scaling runs (default 100,1000,5000; 5,000 takes about 25 minutes)")
    bench.add_argument("--quick", action="store_true",
                       help="retirement 100,1000 and onboarding 100 unless given, and no test suite run")
    bench.add_argument("--no-suite", action="store_true", help="do not time the test suite")
    bench.add_argument("--no-demo", action="store_true", help="do not time hubctl demo")
    bench.add_argument("--no-cold-starts", action="store_true", help="do not measure cold-start imports")
    events = sub.add_parser("events", help="events and notifications the workflows could not deliver")
    ev_actions = events.add_subparsers(dest="action", metavar="ACTION")
    ev_actions.add_parser("undelivered", help="list what is kept in the undelivered queue (workflow, state, event)")
    ev_actions.add_parser("redrive", help="deliver every kept event or notification again; each leaves the queue once delivered")
    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    a_sub = audit.add_subparsers(dest="action", metavar="ACTION")
    a_show = a_sub.add_parser("show", help="records of one tenant (or every stream)")
    a_show.add_argument("--tenant", help="tenant id (stream tenant#ID)")
    a_show.add_argument("--stream", help="any stream, e.g. model#NAME")
    a_sub.add_parser("verify", help="recompute every hash chain; names the first altered, inserted or missing record")
    return p


RETIRE_EPILOG = """examples:
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --successor support-bot:2.0.0 \\
      --reason "2.0.0 answers billing questions better" --dry-run     the impact; nothing changes
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --successor support-bot:2.0.0 \\
      --reason "2.0.0 answers billing questions better"               notices now, revocation in 30 days
  hubctl retire amazon.nova-pro-v1:0 --tenants acme-retail --at 2026-12-31T00:00:00Z --reason "moves to Nova Premier"
  hubctl retire amazon.nova-pro-v1:0 --cancel --reason "contract extended"    every grant restored

MODEL VERSION, or one MODEL_ID split at its last ':' (amazon.nova-pro-v1:0 is MODEL amazon.nova-pro-v1,
VERSION 0; support-bot:1.0.0 is support-bot 1.0.0). Without --wait, hubctl returns once the tenants
are notified and the retirement is SCHEDULED; the state machine revokes at the date on its own.
Exit codes: 0 scheduled, done, cancelled or nothing to do (already retired or in progress);
1 failed or timed out; 2 bad flags or a request the hub rejected (the field is named).
"""

# Local checks before anything starts: the request's own schema (the state machine checks it again).
_FLAG_OF_FIELD = {"$.model": "MODEL", "$.version": "VERSION", "$.tenants": "--tenants", "$.grace": "--grace", "$.at": "--at",
                  "$.successor": "--successor", "$.reason": "--reason", "$.requested_by": "--requested-by"}
LIVE_RETIREMENT = ("PLANNED", "SCHEDULED", "REVOKING")


def _retire_parser(sub) -> None:
    retire = sub.add_parser(
        "retire", help="retire a model version for all tenants or a few (notice, grace period, revocation), or --cancel it",
        description="Retire a model version (an imported model or a foundation model) for all tenants or a listed few.\n"
                    "Each tenant gets a ModelRetirementScheduled notice and its grant is marked RETIRING; at the date\n"
                    "the hub revokes the model in the tenant's spoke invoke role, deletes its inference profiles and\n"
                    "grants and, once no tenant keeps an imported model, deletes the model in Bedrock.",
        epilog=RETIRE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    retire.add_argument("model", metavar="MODEL", help="support-bot, amazon.nova-pro-v1; or a MODEL_ID with ':' and no VERSION")
    retire.add_argument("version", metavar="VERSION", nargs="?", help="1.0.0 for an imported model, 0 for amazon.nova-pro-v1:0")
    retire.add_argument("--tenants", metavar="all|ID,ID", help='"all", or tenant ids separated by commas (acme-retail,globex-support); '
                                          "required to start; with --cancel, picks the retirement of that scope")
    when = retire.add_mutually_exclusive_group()
    when.add_argument("--grace", metavar="DURATION", help="time until the retirement date, ISO 8601 days/hours/minutes/seconds: "
                                      "P30D (the default), P1DT12H, PT90S")
    when.add_argument("--at", metavar="DATE", help="the retirement date instead: RFC 3339 (2026-12-31T00:00:00Z) or a day (2026-12-31, 00:00 UTC)")
    retire.add_argument("--successor", metavar="MODEL:VERSION", help="MODEL:VERSION the tenants should move to (in the notice), e.g. support-bot:2.0.0")
    retire.add_argument("--reason", metavar="TEXT", help="why: sent to the tenants and audited (required to start)")
    retire.add_argument("--requested-by", metavar="WHO", default=os.environ.get("USER", "hubctl"),
                        help="who asks, or who cancels (audited; default $USER)")
    retire.add_argument("--dry-run", action="store_true", help="show the impact (tenants, profiles, imported model) and change nothing")
    retire.add_argument("--wait", action="store_true", help="wait past the retirement date for the revocation and show what was removed")
    retire.add_argument("--cancel", action="store_true",
                        help="cancel the model's scheduled retirement (before its date): every grant back to ACTIVE, tenants told")
    retire.add_argument("--timeout", metavar="SECONDS", type=float, default=300,
                        help="seconds to wait for each stage: scheduled, cancelled; with --wait, beyond the date (default 300)")


def _usage_error(message: str, command: str = "retire") -> SystemExit:
    print(f"hubctl {command}: error: {message}", file=sys.stderr)
    return SystemExit(2)


def _model_and_version(args) -> tuple[str, str]:
    model, version = args.model, args.version
    if version is None:
        if ":" not in model:
            raise _usage_error(f"give MODEL VERSION (support-bot 1.0.0) or a MODEL_ID with ':' (amazon.nova-pro-v1:0), not {model!r} alone")
        model, version = model.rsplit(":", 1)
    elif ":" in model:
        raise _usage_error(f"{args.model!r} is a MODEL_ID already: give it alone, or MODEL and VERSION ({args.model.rsplit(':', 1)[0]} {version})")
    return model, version


def _scope(text: str):
    """--tenants as the request's `tenants` ("all" or a sorted list, as the hub stores the scope)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return "all"
    if not names or "all" in names:
        raise _usage_error(f"--tenants {text!r}: give \"all\" or tenant ids separated by commas, not both")
    return sorted(set(names))


def _moment(text: str, flag: str, command: str, *, future: bool) -> str:
    """A date-time flag as RFC 3339 in UTC; a bare day means its midnight UTC. `future`: whether the
    moment must be after now (a retirement date) or not after it (a metering moment)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _usage_error(f"{flag} {text!r}: expected an RFC 3339 date-time such as 2026-12-31T00:00:00Z, or a day 2026-12-31",
                           command) from None
    if moment.tzinfo is None:
        raise _usage_error(f"{flag} {text!r} has no time zone: add Z (UTC) or an offset, e.g. {text}Z", command)
    if future and moment <= datetime.now(timezone.utc):
        raise _usage_error(f"{flag} {text} is in the past", command)
    if not future and moment > datetime.now(timezone.utc):
        raise _usage_error(f"{flag} {text} is in the future: usage can only be metered up to now", command)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _retirement_request(args, model: str, version: str) -> dict:
    for flag in ("tenants", "reason"):
        if not getattr(args, flag):
            raise _usage_error(f"--{flag} is required to start a retirement (see hubctl retire --help)")
    request = {"model": model, "version": version, "tenants": _scope(args.tenants), "successor": args.successor,
               "reason": args.reason, "requested_by": args.requested_by, "dry_run": args.dry_run}
    if args.grace:
        request["grace"] = args.grace
    if args.at:
        request["at"] = _moment(args.at, "--at", "retire", future=True)
    from genai_hub import schemas
    from genai_hub.errors import InvalidInput

    try:
        schemas.validate_detail("ModelRetirementRequested", request)
    except InvalidInput as exc:
        flag = next((f for path, f in _FLAG_OF_FIELD.items() if exc.field == path or exc.field.startswith(path + "[")), exc.field)
        if flag == "--grace":
            raise _usage_error(f"--grace {args.grace!r}: expected an ISO 8601 duration in days, hours, minutes and seconds "
                               "such as P30D, P1DT12H or PT90S (no months or years)") from None
        raise _usage_error(f"{flag}: {str(exc).split(': ', 1)[-1]}") from None
    if args.successor == f"{model}:{version}":
        raise _usage_error("--successor: a version cannot succeed itself")
    return request


def _execution_name(model: str, version: str, dry_run: bool) -> str:
    """retire-<model-slug>-<UTC timestamp>[-dry-run]: Step Functions allows [A-Za-z0-9-_], 80 characters."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    stamp = stamp[:18] + "Z"  # milliseconds
    suffix = f"-{stamp}" + ("-dry-run" if dry_run else "")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{model}-{version}").strip("-")
    return f"retire-{slug[:80 - len('retire-') - len(suffix)]}{suffix}"


def _poll(what: str, check, timeout: float, interval: float = 0.25):
    """Call `check` until it returns something (with a spinner) or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    with views.console.status(what):
        while True:
            found = check()
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(interval)


def _retire(args):
    """Check the flags (before connecting: a typo is told without AWS), then what to run on the hub."""
    model, version = _model_and_version(args)
    if args.cancel:
        extra = [f for f in ("grace", "at", "successor", "dry_run", "wait") if getattr(args, f)]
        if extra:
            raise _usage_error(f"--cancel takes only --tenants, --reason and --requested-by, not --{extra[0].replace('_', '-')}")
        if args.tenants:
            _scope(args.tenants)
        return lambda hub: _cancel_retirement(hub, args, model, version)
    request = _retirement_request(args, model, version)
    return lambda hub: _start_retirement(hub, args, request)


def _start_retirement(hub, args, request: dict) -> int:
    sfn, machine = hub.client("stepfunctions"), hub.output("RetirementStateMachineArn")
    model_id = f"{request['model']}:{request['version']}"
    for attempt in range(3):
        try:
            execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(request),
                                            name=_execution_name(request["model"], request["version"], request["dry_run"]))["executionArn"]
            break
        except sfn.exceptions.ExecutionAlreadyExists:  # the same model within the same millisecond
            if attempt == 2:
                raise
            time.sleep(0.01)
    views.console.print(f"{'dry run of the retirement' if request['dry_run'] else 'retirement'} of {model_id} started: {execution}")

    def ended():
        described = sfn.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    def scheduled_or_ended():
        described = ended()
        if described:
            return described
        if not request["dry_run"]:
            mine = [r for r in views.retirement_records(hub, model_id) if r.get("execution") == execution]
            if mine and mine[0]["status"] not in ("PLANNED",):
                return mine[0]
        return None

    what = "finding the affected tenants..." if request["dry_run"] else "planning, marking the grants RETIRING, notifying the tenants..."
    found = _poll(what, scheduled_or_ended, args.timeout)
    if found is None:
        views.console.print(f"[red]not scheduled after {args.timeout:g}s[/red]: follow it with `hubctl executions show {execution}`")
        return 1
    if "executionArn" not in found and found["status"] in ("COMPLETED", "CANCELLED", "FAILED"):  # a date very near
        found = _poll("ending...", ended, args.timeout) or found
    if "executionArn" in found:  # the execution ended (dry run, nothing to do, rejected, or already through)
        return _report_retirement_end(hub, found)
    views.print_retirement_scheduled(found, cancel_hint=_cancel_hint(found))
    if not args.wait:
        return 0
    retire_at = datetime.fromisoformat(found["retire_at"].replace("Z", "+00:00"))
    left = max(0.0, (retire_at - datetime.now(timezone.utc)).total_seconds())
    try:
        described = _poll(f"waiting for the retirement date {found['retire_at']}, then revoking...", ended, left + args.timeout, 0.5)
    except KeyboardInterrupt:
        views.console.print(f"stopped waiting; the retirement goes on (execution {execution})")
        return 1
    if described is None:
        views.console.print(f"[red]not ended {args.timeout:g}s after its date[/red]: follow it with `hubctl executions show {execution}`")
        return 1
    return _report_retirement_end(hub, described)


def _cancel_hint(record: dict) -> str:
    scope = "" if record["scope"] == "all" else f" --tenants {','.join(record['scope'])}"
    return f"hubctl retire {record['model_id']} --cancel{scope} --reason WHY"


def _rejection(hub, execution_arn: str) -> tuple[str, str]:
    """(field, reason) of a rejected request, from the execution's history (*Record rejection*'s result)."""
    from genai_hub.errors import caught, rejected_field

    failure = None
    for event in views.execution_history(hub, execution_arn):
        exited = event.get("stateExitedEventDetails") or {}
        if exited.get("name") == "Record rejection":
            rejection = json.loads(exited.get("output") or "{}").get("rejection") or {}
            if rejection.get("reason"):
                return rejection.get("field", "$"), rejection["reason"]
        details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails")
        if details:
            failure = {"Error": details.get("error"), "Cause": details.get("cause")}
    if failure:
        _, message = caught(failure)
        return rejected_field(message), message
    return "$", "see the execution's history"


def _report_retirement_end(hub, described: dict) -> int:
    """What an ended retirement execution did; the exit code."""
    from genai_hub.errors import caught

    console, arn = views.console, described["executionArn"]
    output = json.loads(described.get("output") or "{}") if described["status"] == "SUCCEEDED" else {}
    if described["status"] == "SUCCEEDED" and output.get("dry_run") is True:
        views.print_retirement_impact(output)
        return 0
    if "retired" in output:
        views.print_retirement_outcome(hub, output["retired"], output.get("plan") or {})
        return 0
    if "cancelled" in output:
        c = output["cancelled"]
        console.print(f"[bold]cancelled[/bold] by {c['by']} ({c['reason']}): {c['restored']} grant(s) restored")
        return 0
    if isinstance(output.get("error"), dict):  # ended in *Nothing to do*
        name, message = caught(output["error"])
        console.print(f"[yellow]nothing to do[/yellow] ({name}): {message}")
        if name == "RetirementInProgress":
            console.print("  see it with `hubctl retirements list`; cancel it with `hubctl retire ... --cancel`")
        return 0
    if described.get("error") == "InputRejected":
        field, reason = _rejection(hub, arn)
        flag = _FLAG_OF_FIELD.get(field.split("[")[0])
        console.print(f"[red]rejected[/red]: {field}{f' ({flag})' if flag else ''}: {reason}")
        console.print("  nothing was changed; the rejection is audited (WorkflowInputRejected)")
        return 2
    console.print(f"[red]the retirement execution ended {described['status']}[/red]: {described.get('error', '')}: "
                  f"{described.get('cause', '')}")
    console.print(f"  see `hubctl executions show {arn}` and `hubctl retirements list`")
    return 1


def _cancel_retirement(hub, args, model: str, version: str) -> int:
    console, model_id = views.console, f"{model}:{version}"
    scope = _scope(args.tenants) if args.tenants else None
    records = views.retirement_records(hub, model_id)
    live = [r for r in records if r["status"] in LIVE_RETIREMENT and (scope is None or r["scope"] == scope)]
    if not live:
        console.print(f"[red]no scheduled retirement of {model_id}"
                      f"{'' if scope is None else ' for ' + views.scope_text(scope)} to cancel[/red]")
        if records:
            views.print_retirements(records, title=f"Retirements of {model_id}")
        return 1
    if len(live) > 1:
        console.print(f"[red]{len(live)} retirements of {model_id} are under way: say which with --tenants[/red]")
        for r in live:
            console.print(f"  --tenants {views.scope_text(r['scope'], sep=',')}   {r['status']}, retires at {r['retire_at']}")
        return 1
    record = live[0]

    def settled():
        current = next((r for r in views.retirement_records(hub, model_id) if r["sk"] == record["sk"]), None)
        return current if current and current["status"] != "PLANNED" else None

    if record["status"] == "PLANNED":  # the notices are being sent: the task token comes with SCHEDULED
        record = _poll("the retirement is being planned, waiting for it to be scheduled...", settled, min(args.timeout, 30)) or record
        if record["status"] == "PLANNED":
            console.print(f"[red]the retirement of {model_id} is still PLANNED[/red] (tenants being notified): "
                          "there is nothing to cancel yet; try again in a moment")
            return 1
    if record["status"] != "SCHEDULED" or not record.get("task_token"):
        console.print(f"[red]too late to cancel: the retirement of {model_id} is {record['status']}[/red]"
                      + (" (its date has come: access is being revoked)" if record["status"] == "REVOKING" else ""))
        return 1
    cause = {"cancelled_by": args.requested_by, "reason": args.reason or "cancelled with hubctl"}
    try:
        hub.client("stepfunctions").send_task_failure(taskToken=record["task_token"], error="RetirementCancelled",
                                                      cause=json.dumps(cause))
    except Exception as exc:  # TaskTimedOut, InvalidToken: the wait is over
        console.print(f"[red]the cancellation was not accepted: {exc}[/red]")
        return 1
    console.print(f"cancelling the retirement of {model_id} ({views.scope_text(record['scope'])}, was due {record['retire_at']}) "
                  f"as {args.requested_by}")

    def ended():
        current = next((r for r in views.retirement_records(hub, model_id) if r["sk"] == record["sk"]), {})
        return current if current.get("status") in ("CANCELLED", "FAILED", "COMPLETED") else None

    done = _poll("restoring the grants, telling the tenants...", ended, args.timeout)
    if done is None or done["status"] != "CANCELLED":
        console.print(f"[red]not cancelled{'' if done is None else ': ' + done['status']}[/red]: "
                      f"see `hubctl executions show {record['execution']}`")
        return 1
    described = hub.client("stepfunctions").describe_execution(executionArn=record["execution"])
    restored = (json.loads(described.get("output") or "{}").get("cancelled") or {}).get("restored", "?")
    console.print(f"[bold]cancelled[/bold]: {restored} grant(s) back to ACTIVE, each tenant told (ModelRetirementCancelled); "
                  f"the retirement is CANCELLED")
    return 0


USAGE_EPILOG = """examples:
  hubctl usage                                  every tenant this month (UTC), hottest first, and the hub
  hubctl usage --month 2026-10 --png usage.png  last month, with a chart per tenant and for the hub
  hubctl usage --tenant acme-retail             one tenant: daily spend against the budget's pace, models, why its level

Figures are what the last budget run metered (hubctl budget run, or the schedule): month to date, the
month-end forecast, the limit and the level in force (GREEN, YELLOW, ORANGE, RED). Exit codes: 0 shown;
2 a bad --month or an unknown --tenant (the flag is named).
"""

BUDGET_RUN_EPILOG = """examples:
  hubctl budget run --wait                                   meter up to now, show every level change
  hubctl budget run --as-of 2026-10-15T00:00:00Z --wait      replay a past moment (never the future)
  hubctl budget run --tenants acme-retail,globex-support     only these tenants (the hub is assessed anyway)

Starts the budget-alerts state machine (execution budget-<UTC time>), as the schedule does. Each window
of usage is metered once: a second run for the same moment adds nothing. Exit codes: 0 started, or
succeeded with --wait; 1 failed or timed out; 2 bad flags or a request the hub rejected (the field is named).
"""

_BUDGET_FLAG_OF_FIELD = {"$.as_of": "--as-of", "$.tenants": "--tenants", "$.requested_by": "--requested-by"}


def _budget_parsers(sub) -> None:
    usage = sub.add_parser(
        "usage", help="metered usage and budget levels of a month: every tenant and the hub, or one tenant in detail",
        description="Usage metered from the tenants' application inference profiles, priced, against each budget.",
        epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    usage.add_argument("--tenant", metavar="ID", help="one tenant: its daily spend as a chart, usage per model, why its level")
    usage.add_argument("--month", metavar="YYYY-MM", help="the month to show (default: the current month, UTC)")
    usage.add_argument("--png", metavar="FILE", help="also write a chart (PNG): daily bars, month to date, limit and thresholds, "
                                                     "for the tenant or for the hub and every tenant")
    budget = sub.add_parser("budget", help="budget alerts: run the metering and level assessment by hand")
    actions = budget.add_subparsers(dest="action", metavar="ACTION")
    run = actions.add_parser(
        "run", help="meter usage up to now (or --as-of) and assess every tenant's level and the hub's",
        description="Start the budget-alerts workflow: meter each tenant's usage since its last run, price it, assess\n"
                    "its level (GREEN, YELLOW, ORANGE, RED) and the hub's, act on changes (RED suspends when the tenant's\n"
                    "budget says so) and emit TenantBudgetLevelChanged and HubBudgetLevelChanged.",
        epilog=BUDGET_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--as-of", metavar="TIME", help="meter up to this moment: RFC 3339 (2026-10-15T00:00:00Z) or a day "
                                                     "(2026-10-15, 00:00 UTC); not in the future (default: now)")
    run.add_argument("--tenants", metavar="ID,ID", help="only these tenants, separated by commas (default: every ACTIVE or SUSPENDED one)")
    run.add_argument("--requested-by", metavar="WHO", default=os.environ.get("USER", "hubctl"), help="who asks (audited on a rejection; default $USER)")
    run.add_argument("--wait", action="store_true", help="wait for the run and show the level changes and the hub's level")
    run.add_argument("--timeout", metavar="SECONDS", type=float, default=300, help="seconds to wait with --wait (default 300)")


def _month(text: str | None) -> str:
    """--month as YYYY-MM (default: the current month, UTC)."""
    if text is None:
        return datetime.now(timezone.utc).strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise _usage_error(f"--month {text!r}: expected a month as YYYY-MM, e.g. {datetime.now(timezone.utc):%Y-%m}", "usage")
    return text


def _usage(args):
    """Check the flags (before connecting), then what to show."""
    month = _month(args.month)
    return lambda hub: _show_usage(hub, args, month)


def _show_usage(hub, args, month: str) -> int:
    if args.tenant and not views.tenant_items(hub, args.tenant).get("META"):
        print(f"hubctl usage: error: --tenant {args.tenant!r}: no tenant {args.tenant!r} in the registry "
              "(see hubctl tenants list)", file=sys.stderr)
        return 2
    if args.tenant:
        views.print_tenant_usage(hub, args.tenant, month)
    else:
        views.print_usage(hub, month)
    if args.png:
        panels, left_out = views.usage_chart_panels(hub, month, args.tenant)
        if not panels:
            views.console.print(f"[yellow]nothing metered for {month}: no chart written[/yellow]")
            return 0
        try:
            views.write_usage_png(args.png, month, panels)
        except views.ChartUnavailable as exc:
            print(f"hubctl usage: error: {exc}", file=sys.stderr)
            return 1
        views.console.print(f"chart written to {args.png} ({len(panels)} panel(s)"
                            + (f"; {left_out} cooler tenant(s) left out" if left_out else "") + ")")
    return 0


def _budget_run(args):
    """Check the flags against the request schema (before connecting), then the run to start."""
    request = {"requested_by": args.requested_by}
    if args.as_of is not None:
        request["as_of"] = _moment(args.as_of, "--as-of", "budget run", future=False)
    if args.tenants is not None:
        request["tenants"] = [t.strip() for t in args.tenants.split(",") if t.strip()]
    from genai_hub import schemas
    from genai_hub.errors import InvalidInput

    try:
        schemas.validate_detail("BudgetRunRequested", request)
    except InvalidInput as exc:
        flag = next((f for path, f in _BUDGET_FLAG_OF_FIELD.items() if exc.field == path or exc.field.startswith(path + "[")), exc.field)
        raise _usage_error(f"{flag}: {str(exc).split(': ', 1)[-1]}", "budget run") from None
    return lambda hub: _start_budget_run(hub, args, request)


def _start_budget_run(hub, args, request: dict) -> int:
    sfn, machine = hub.client("stepfunctions"), hub.output("BudgetAlertsStateMachineArn")
    for attempt in range(3):
        name = f"budget-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')[:18]}Z"
        try:
            execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(request), name=name)["executionArn"]
            break
        except sfn.exceptions.ExecutionAlreadyExists:  # two runs within the same millisecond
            if attempt == 2:
                raise
            time.sleep(0.01)
    views.console.print(f"budget run started{' as of ' + request['as_of'] if 'as_of' in request else ''}: {execution}")
    if not args.wait:
        views.console.print(f"  follow it with `hubctl executions show {execution}`; then `hubctl usage`")
        return 0

    def ended():
        described = sfn.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    described = _poll("metering usage, assessing levels...", ended, args.timeout, interval=0.1)
    if described is None:
        views.console.print(f"[red]not finished after {args.timeout:g}s[/red]: follow it with `hubctl executions show {execution}`")
        return 1
    if described.get("error") == "InputRejected":
        field, reason = _rejection(hub, execution)
        flag = _BUDGET_FLAG_OF_FIELD.get(field.split("[")[0])
        reason = reason.removeprefix(f"{field}: ")
        views.console.print(f"[red]rejected[/red]: {field}{f' ({flag})' if flag else ''}: {reason}")
        views.console.print("  nothing was metered; the rejection is audited (WorkflowInputRejected)")
        return 2
    if described["status"] != "SUCCEEDED":
        views.console.print(f"[red]the budget run ended {described['status']}[/red]: {described.get('error', '')}: {described.get('cause', '')}")
        views.console.print(f"  see `hubctl executions show {execution}`")
        return 1
    views.print_budget_run(hub, described)
    return 0


def _event_entry(path: Path) -> tuple[str, dict]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"hubctl: {path}: no such file")
    except ValueError as exc:
        raise SystemExit(f"hubctl: {path}: not valid JSON ({exc})")
    if isinstance(data, dict) and "detail" in data:
        return data.get("detail-type", "TenantOnboardingRequested"), data["detail"]
    return "TenantOnboardingRequested", data


def _send(hub, detail_type: str, detail: dict) -> str | None:
    """Put one event on the hub bus; its id, or None (said) when the bus refuses it."""
    entry = hub.client("events").put_events(Entries=[{
        "EventBusName": hub.output("EventBusName"), "Source": "genai.hub", "DetailType": detail_type, "Detail": json.dumps(detail),
    }])["Entries"][0]
    if "EventId" not in entry:
        views.console.print(f"[red]the bus refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}[/red]")
        return None
    return entry["EventId"]


def _put(hub, detail_type: str, detail: dict) -> int:
    event_id = _send(hub, detail_type, detail)
    if event_id:
        views.console.print(f"sent {detail_type} (event {event_id}); follow it with `hubctl executions list`")
    return 0 if event_id else 1


def _onboard(hub, args) -> int:
    detail_type, detail = _event_entry(Path(args.event_file))
    event_id = _send(hub, detail_type, detail)
    if event_id is None:
        return 1
    entry = {"EventId": event_id}
    views.console.print(f"sent {detail_type} for {detail.get('tenant_id', '?')} (event {event_id})")
    if not args.wait:
        return 0
    sfn, arn = hub.client("stepfunctions"), hub.output("OnboardingStateMachineArn")
    deadline = time.monotonic() + args.timeout
    with views.console.status("waiting for the onboarding execution..."):
        while True:
            found = None
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for e in page["executions"]:
                    described = sfn.describe_execution(executionArn=e["executionArn"])
                    if json.loads(described["input"]).get("id") == entry["EventId"]:
                        found = described
            if found and found["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                views.console.print(f"[red]no finished execution for event {entry['EventId']} after {args.timeout}s[/red]")
                return 1
            time.sleep(0.5)
    views.print_execution(hub, found["executionArn"])
    return 0 if found["status"] == "SUCCEEDED" else 1


def _decide(hub, args) -> int:
    """Answer the evaluation's waiting task with the decision; the workflow records and audits it."""
    item = hub.client("dynamodb").get_item(
        TableName=hub.output("RegistryTableName"), ConsistentRead=True,
        Key={"pk": {"S": f"MODEL#{args.model_name}"}, "sk": {"S": f"APPROVAL#{args.version}"}}).get("Item")
    if not item:
        views.console.print(f"[red]{args.model_name} {args.version} is not waiting for a decision[/red] (see `hubctl models show {args.model_name}`)")
        return 1
    sfn, token = hub.client("stepfunctions"), item["task_token"]["S"]
    try:
        if args.command == "approve":
            sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve", "approver": args.approver}))
        else:
            sfn.send_task_failure(taskToken=token, error="ApprovalRejected",
                                  cause=json.dumps({"approver": args.approver, "reason": args.reason}))
    except Exception as exc:  # TaskTimedOut, InvalidToken: the wait is over
        views.console.print(f"[red]the decision was not accepted: {exc}[/red]")
        return 1
    views.console.print(f"{args.command}d {args.model_name} {args.version} as {args.approver}; the evaluation workflow continues")
    return 0


def _bench(args) -> int:
    from hubctl import bench

    def sizes_of(flag: str, text: str | None, default: str, quick: str) -> tuple[int, ...]:
        text = text or (quick if args.quick else default)  # sizes given on the command line win over --quick
        try:
            sizes = () if text == "none" else tuple(int(n) for n in text.split(","))
            if any(n < 1 for n in sizes):
                raise ValueError
        except ValueError:
            raise _usage_error(f"{flag} {text!r}: expected positive whole numbers separated by commas, "
                               "e.g. 100,1000, or none", "bench") from None
        return sizes

    sizes = sizes_of("--sizes", args.sizes, "100,1000,5000", "100,1000")
    onboarding_sizes = sizes_of("--onboarding-sizes", args.onboarding_sizes, "100,1000,5000", "100")
    if args.concurrency < 1:
        raise _usage_error(f"--concurrency {args.concurrency}: expected a positive whole number, e.g. 32", "bench")
    return bench.run(concurrency=args.concurrency, sizes=sizes, onboarding_sizes=onboarding_sizes, cold=not args.no_cold_starts,
                     demo=not args.no_demo, suite=not (args.no_suite or args.quick))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from hubctl.demo import run
        from hubsim.patches import authz

        if authz.mode() != "enforce":  # the demo shows the hub as AWS would run it, refusals included
            print(f"hubctl demo: {authz.ENV}={os.environ.get(authz.ENV)} turns IAM enforcement off; the demo always "
                  f"runs with it on: unset {authz.ENV} (it is for debugging the emulation only)", file=sys.stderr)
            return 2
        return run(quiet=args.quiet)
    if args.command == "bench":
        return _bench(args)
    if args.command == "local":
        if args.action != "up":
            parser.parse_args(["local", "--help"])
        from hubctl.server import serve

        return serve(host=args.host, port=args.port, stack_name=args.stack_name, samples=not args.no_samples)
    if getattr(args, "action", "") is None:
        parser.parse_args([args.command, "--help"])
    retire = _retire(args) if args.command == "retire" else None
    usage = _usage(args) if args.command == "usage" else None
    budget_run = _budget_run(args) if args.command == "budget" else None
    try:
        hub = connect(args.stack_name, args.endpoint_url, args.region)
        if args.command == "onboard":
            return _onboard(hub, args)
        if args.command == "tenants":
            if args.action == "list":
                views.print_tenants(hub)
                return 0
            return 0 if views.print_tenant(hub, args.tenant_id) else 1
        if args.command == "models":
            if args.action == "list":
                views.print_models(hub)
                return 0
            return 0 if views.print_model(hub, args.model_name) else 1
        if args.command == "import":
            detail = {"bucket": args.bucket or hub.output("ResearchArtifactBucketName"), "prefix": args.prefix.strip("/"),
                      "requested_by": args.requested_by}
            return _put(hub, "ModelImportRequested", detail)
        if args.command in ("approve", "reject"):
            return _decide(hub, args)
        if retire:
            return retire(hub)
        if usage:
            return usage(hub)
        if budget_run:
            return budget_run(hub)
        if args.command == "retirements":
            views.print_retirements(views.all_retirements(hub))
            return 0
        if args.command == "evaluations":
            return 0 if views.print_evaluation(hub, args.model_name, args.version) else 1
        if args.command == "executions":
            if args.action == "list":
                views.print_executions(hub)
                return 0
            views.print_execution(hub, args.execution_arn)
            return 0
        if args.command == "events":
            from hubctl import redrive

            return redrive.redrive(hub) if args.action == "redrive" else redrive.list_undelivered(hub)
        if args.command == "audit":
            if args.action == "verify":
                return 1 if views.verify_audit(hub) else 0
            if not (args.tenant or args.stream):
                views.print_audit(hub)
                return 0
            views.print_audit(hub, args.stream or f"tenant#{args.tenant}")
            return 0
    except StackNotFound as exc:
        views.console.print(f"[red]hubctl: {exc}[/red]")
        return 1
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
