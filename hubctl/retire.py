"""`hubctl retire`: start a model retirement (or a dry run of it), follow it to the notices or past its
date, or cancel one. The flags are checked against the request schema first, so a typo is told
without AWS; the state machine checks the request again and is the authority."""
import argparse
import json
import os
import re
from datetime import datetime, timezone

from hubctl import views
from hubctl.errors import HubctlError, NotFound, RequestRejected, WorkflowFailed
from hubctl.follow import ended, poll, positive_timeout, rejected_message, rejection, usage_error

EPILOG = """examples:
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --successor support-bot:2.0.0 \\
      --reason "2.0.0 answers billing questions better" --dry-run     the impact; nothing changes
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --successor support-bot:2.0.0 \\
      --reason "2.0.0 answers billing questions better"               notices now, revocation in 30 days
  hubctl retire amazon.nova-pro-v1:0 --tenants acme-retail --at 2026-12-31T00:00:00Z --reason "moves to Nova Premier"
  hubctl retire amazon.nova-pro-v1:0 --cancel --reason "contract extended"    every grant restored
  hubctl retire support-bot 1.0.0 --confirm      a second person confirms a retirement of every tenant

MODEL VERSION, or one MODEL_ID split at its last ':' (amazon.nova-pro-v1:0 is MODEL amazon.nova-pro-v1,
VERSION 0; support-bot:1.0.0 is support-bot 1.0.0). Without --wait, hubctl returns once the tenants
are notified and the retirement is SCHEDULED; the state machine revokes at the date on its own.
Exit codes: 0 scheduled, done, cancelled or nothing to do (already retired or in progress);
1 failed, timed out or nothing to cancel; 2 bad flags or a request the hub rejected (the field is
named; a dry run is rejected as the real run would be).
"""

# Local checks before anything starts: the request's own schema (the state machine checks it again).
FLAG_OF_FIELD = {"$.model": "MODEL", "$.version": "VERSION", "$.tenants": "--tenants", "$.grace": "--grace", "$.at": "--at",
                 "$.successor": "--successor", "$.reason": "--reason", "$.requested_by": "--requested-by"}
LIVE_RETIREMENT = ("PLANNED", "SCHEDULED", "REVOKING")


def add_parser(sub) -> None:
    retire = sub.add_parser(
        "retire", help="retire a model version for all tenants or a few (notice, grace period, revocation), or --cancel it",
        description="Retire a model version (an imported model or a foundation model) for all tenants or a listed few.\n"
                    "Each tenant gets a ModelRetirementScheduled notice and its grant is marked RETIRING; at the date\n"
                    "the hub revokes the model in the tenant's spoke invoke role, deletes its inference profiles and\n"
                    "grants and, once no tenant keeps an imported model, deletes the model in Bedrock.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
                        help="your name, recorded as a claim beside the identity AWS verified (default $USER)")
    retire.add_argument("--dry-run", action="store_true", help="show the impact (tenants, profiles, imported model) and change nothing")
    retire.add_argument("--wait", action="store_true", help="wait past the retirement date for the revocation and show what was removed")
    retire.add_argument("--cancel", action="store_true",
                        help="cancel the model's scheduled retirement (before its date): every grant back to ACTIVE, tenants told")
    retire.add_argument("--confirm", action="store_true",
                        help="confirm, as a second person, a retirement of every tenant that the decision policy wants "
                             "confirmed before its date (four_eyes.retirement_all_needs_confirmation)")
    retire.add_argument("--timeout", metavar="SECONDS", type=float, default=300,
                        help="seconds to wait for each stage: scheduled, cancelled; with --wait, beyond the date (default 300)")


def _usage_error(message: str) -> SystemExit:
    return usage_error(message, "retire")


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


def _retirement_request(args, model: str, version: str) -> dict:
    from hubctl.follow import moment

    for flag in ("tenants", "reason"):
        if not getattr(args, flag):
            raise _usage_error(f"--{flag} is required to start a retirement (see hubctl retire --help)")
    request = {"model": model, "version": version, "tenants": _scope(args.tenants), "successor": args.successor,
               "reason": args.reason, "requested_by": args.requested_by, "dry_run": args.dry_run}
    if args.grace:
        request["grace"] = args.grace
    if args.at:
        request["at"] = moment(args.at, "--at", "retire", future=True)
    from genai_hub import schemas
    from genai_hub.errors import InvalidInput

    try:
        schemas.validate_detail("ModelRetirementRequested", request)
    except InvalidInput as exc:
        flag = next((f for path, f in FLAG_OF_FIELD.items() if exc.field == path or exc.field.startswith(path + "[")), exc.field)
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


def prepare(args):
    """Check the flags (before connecting: a typo is told without AWS), then what to run on the hub."""
    model, version = _model_and_version(args)
    positive_timeout(args, "retire")
    if args.confirm:
        extra = [f for f in ("grace", "at", "successor", "dry_run", "wait", "cancel", "tenants") if getattr(args, f)]
        if extra:
            raise _usage_error(f"--confirm takes no --{extra[0].replace('_', '-')}: it confirms the model's retirement of every tenant")
        return lambda hub: _confirm_retirement(hub, args, model, version)
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
    from hubctl import decide

    sfn = hub.client("stepfunctions")
    model_id = f"{request['model']}:{request['version']}"
    # Through the decision door: the hub starts it as the identity AWS verified (requested_by is that ARN).
    taken = decide.send(hub, {"action": "retire", "request": request,
                              "execution_name": _execution_name(request["model"], request["version"], request["dry_run"])})
    execution = taken["execution"]
    views.console.print(f"{'dry run of the retirement' if request['dry_run'] else 'retirement'} of {model_id} started as "
                        f"{taken['acted_as']}: {execution}")
    finished = ended(sfn, execution)

    def scheduled_or_ended():
        described = finished()
        if described:
            return described
        if not request["dry_run"]:
            mine = [r for r in views.retirement_records(hub, model_id) if r.get("execution") == execution]
            if mine and mine[0]["status"] not in ("PLANNED",):
                return mine[0]
        return None

    what = "finding the affected tenants..." if request["dry_run"] else "planning, marking the grants RETIRING, notifying the tenants..."
    found = poll(what, scheduled_or_ended, args.timeout)
    if found is None:
        raise WorkflowFailed(f"not scheduled after {args.timeout:g}s: follow it with `hubctl executions show {execution}`")
    if "executionArn" not in found and found["status"] in ("COMPLETED", "CANCELLED", "FAILED"):  # a date very near
        found = poll("ending...", finished, args.timeout) or found
    if "executionArn" in found:  # the execution ended (dry run, nothing to do, rejected, or already through)
        return _report_retirement_end(hub, found)
    views.print_retirement_scheduled(found, cancel_hint=_cancel_hint(found))
    if not args.wait:
        return 0
    retire_at = datetime.fromisoformat(found["retire_at"].replace("Z", "+00:00"))
    left = max(0.0, (retire_at - datetime.now(timezone.utc)).total_seconds())
    try:
        described = poll(f"waiting for the retirement date {found['retire_at']}, then revoking...", finished, left + args.timeout, 0.5)
    except KeyboardInterrupt:
        views.console.print(f"stopped waiting; the retirement goes on (execution {execution})")
        return 1
    if described is None:
        raise WorkflowFailed(f"not ended {args.timeout:g}s after its date: follow it with `hubctl executions show {execution}`")
    return _report_retirement_end(hub, described)


def _cancel_hint(record: dict) -> str:
    scope = "" if record["scope"] == "all" else f" --tenants {','.join(record['scope'])}"
    return f"hubctl retire {record['model_id']} --cancel{scope} --reason WHY"


def _dry_run_rejection(hub, impact: dict) -> str | None:
    """What the real run would reject and the dry run lets through: a foundation model nobody holds and
    nothing ever retired (the rule of genai_hub.retirement.plan_retirement, in its words). None if the
    real run would go ahead. Once the hub rejects such a dry run itself, this finds nothing more."""
    if impact.get("kind") != "foundation" or impact.get("tenant_count", 0) + impact.get("tenants_remaining", 0):
        return None
    if views.retirement_records(hub, impact["model_id"]):
        return None
    return f"$.model: no imported version {impact['model_id']} in the registry and no tenant holds a grant of it"


def _report_retirement_end(hub, described: dict) -> int:
    """What an ended retirement execution did; the exit code."""
    from genai_hub.errors import caught

    console, arn = views.console, described["executionArn"]
    output = json.loads(described.get("output") or "{}") if described["status"] == "SUCCEEDED" else {}
    if described["status"] == "SUCCEEDED" and output.get("dry_run") is True:
        refused = _dry_run_rejection(hub, output)
        if refused:
            raise RequestRejected(rejected_message("$.model", refused, FLAG_OF_FIELD) + "; nothing was changed")
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
        field, reason = rejection(hub, arn)
        raise RequestRejected(rejected_message(field, reason, FLAG_OF_FIELD)
                              + "; nothing was changed (the rejection is audited: WorkflowInputRejected)")
    raise WorkflowFailed(f"the retirement execution ended {described['status']}: {described.get('error', '')}: "
                         f"{described.get('cause', '')}; see `hubctl executions show {arn}` and `hubctl retirements list`")


def _confirm_retirement(hub, args, model: str, version: str) -> int:
    from hubctl import decide

    model_id = f"{model}:{version}"
    live = [r for r in views.retirement_records(hub, model_id) if r["status"] in LIVE_RETIREMENT and r["scope"] == "all"]
    if not live:
        raise NotFound(f"no retirement of {model_id} for every tenant before its date: see `hubctl retirements list`")
    taken = decide.send(hub, {"action": "confirm-retirement", "model_id": model_id, "retirement_id": live[0]["retirement_id"],
                              "name": args.requested_by})
    views.console.print(f"confirmed the retirement of {model_id} for every tenant (due {live[0]['retire_at']}) as "
                        f"{taken['acted_as']} (verified by AWS; allowed by {taken['rule']})")
    return 0


def _cancel_retirement(hub, args, model: str, version: str) -> int:
    console, model_id = views.console, f"{model}:{version}"
    scope = _scope(args.tenants) if args.tenants else None
    records = views.retirement_records(hub, model_id)
    live = [r for r in records if r["status"] in LIVE_RETIREMENT and (scope is None or r["scope"] == scope)]
    if not live:
        if records:  # what there is, to see why
            views.print_retirements(records, title=f"Retirements of {model_id}")
        raise NotFound(f"no scheduled retirement of {model_id}{'' if scope is None else ' for ' + views.scope_text(scope)} "
                       "to cancel: see `hubctl retirements list`")
    if len(live) > 1:
        scopes = " or ".join(f"--tenants {views.scope_text(r['scope'], sep=',')}" for r in live)
        raise HubctlError(f"{len(live)} retirements of {model_id} are under way: say which with {scopes}")
    record = live[0]

    def settled():
        current = next((r for r in views.retirement_records(hub, model_id) if r["sk"] == record["sk"]), None)
        return current if current and current["status"] != "PLANNED" else None

    if record["status"] == "PLANNED":  # the notices are being sent: the task token comes with SCHEDULED
        record = poll("the retirement is being planned, waiting for it to be scheduled...", settled, min(args.timeout, 30)) or record
        if record["status"] == "PLANNED":
            raise HubctlError(f"the retirement of {model_id} is still PLANNED (tenants being notified): "
                              "there is nothing to cancel yet; try again in a moment")
    if record["status"] != "SCHEDULED" or not record.get("task_token"):
        raise HubctlError(f"too late to cancel: the retirement of {model_id} is {record['status']}"
                          + (" (its date has come: access is being revoked)" if record["status"] == "REVOKING" else ""))
    from hubctl import decide

    taken = decide.send(hub, {"action": "cancel-retirement", "model_id": record["model_id"], "retirement_id": record["retirement_id"],
                              "reason": args.reason or "cancelled with hubctl", "name": args.requested_by})
    console.print(f"cancelling the retirement of {model_id} ({views.scope_text(record['scope'])}, was due {record['retire_at']}) "
                  f"as {taken['acted_as']} (verified by AWS; allowed by {taken['rule']})")

    def cancelled():
        current = next((r for r in views.retirement_records(hub, model_id) if r["sk"] == record["sk"]), {})
        return current if current.get("status") in ("CANCELLED", "FAILED", "COMPLETED") else None

    done = poll("restoring the grants, telling the tenants...", cancelled, args.timeout)
    if done is None or done["status"] != "CANCELLED":
        raise WorkflowFailed(f"not cancelled{f' after {args.timeout:g}s' if done is None else ': ' + done['status']}: "
                             f"see `hubctl executions show {record['execution']}`")
    # The record says CANCELLED a step before the execution ends with what it restored: wait for the end.
    described = poll("the cancellation is ending...", ended(hub.client("stepfunctions"), record["execution"]), min(args.timeout, 60)) or {}
    restored = (json.loads(described.get("output") or "{}").get("cancelled") or {}).get("restored", "?")
    console.print(f"[bold]cancelled[/bold]: {restored} grant(s) back to ACTIVE, each tenant told (ModelRetirementCancelled); "
                  f"the retirement is CANCELLED")
    return 0
