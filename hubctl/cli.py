"""hubctl command line. Run `hubctl --help`, or `hubctl COMMAND --help` for each command.

This module reads the command line and turns every failure into one line on stderr and a documented
exit code (EXIT_CODES); the commands live in reads (list/show), retire, budget (usage, budget run)
and below (onboard, import, approve, reject)."""
import argparse
import functools
import json
import os
import sys
import textwrap
import time

from hubctl import errors, output, views
from hubctl.errors import HubctlError, HubUnreachable, RequestRejected, UsageError, WorkflowFailed
from hubctl.stack import StackNotFound, connect

EXIT_CODES = """exit codes:
  0    done
  1    the hub answered no: not found, a workflow failed or did not end within --timeout, the audit trail altered
  2    usage: a bad option or argument, an input file missing or not valid (every problem, with its field),
       a request the hub rejected (the field named); nothing was sent or changed
  3    cannot reach the hub: no credentials, no such stack, an endpoint that does not answer, AWS refused a call
  4    a bug in hubctl: the message says so; run again with --debug for the traceback
  130  interrupted (Ctrl-C)
An error is one line on stderr ("hubctl COMMAND: error: ..."), one line per problem of an input file."""

EPILOG = f"""examples:
  hubctl demo                                   run everything on the embedded emulation
  hubctl local up --port 4566                   serve the emulation as an AWS endpoint
  hubctl onboard events/onboarding/acme-retail-us.json --wait --endpoint-url http://127.0.0.1:4566
  hubctl tenants list                           (deployed stack, default AWS credentials)
  hubctl tenants show acme-retail --output json --query "grants[].profile_arn"
  hubctl retire support-bot 1.0.0 --tenants all --grace P30D --reason "end of life" --dry-run
  hubctl usage --tenant acme-retail             one tenant's spend this month: level, daily chart
  hubctl budget run --wait                      meter usage now and show the level changes
  hubctl audit verify --stack-name genai-hub

Global options go before or after the command, as with the AWS CLI. --output and --query apply to the
read commands: tenants, models and executions list|show, evaluations show, retirements list, audit show,
usage, events undelivered and deploy plan.

{EXIT_CODES}
"""


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# --- the parser -----------------------------------------------------------------------------------------

def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes, before or after it. Below the top level their default is
    SUPPRESS: a subcommand that is not given one leaves the value given before it (or the default)."""
    def default(value):
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument("--endpoint-url", metavar="URL", default=default(None),
                       help="AWS endpoint of a local hub (hubctl local up), e.g. http://127.0.0.1:4566")
    group.add_argument("--stack-name", metavar="NAME", default=default("genai-hub"),
                       help="hub stack whose outputs name the resources (default: genai-hub)")
    group.add_argument("--region", default=default(None), help="AWS Region (default: AWS_REGION, else us-east-1)")
    group.add_argument("--output", choices=output.FORMATS, default=default("table"),
                       help="read commands: table (default, for people), json (exactly the data) or text (tab-separated)")
    group.add_argument("--query", metavar="JMESPATH", default=default(None),
                       help="read commands: a JMESPath expression on the json data, e.g. \"[?status=='ACTIVE'].tenant_id\"")
    group.add_argument("--debug", action="store_true", default=default(False), help="on an unexpected error, show the traceback")


@functools.cache
def _command_globals() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    _global_options(parent, top=False)
    return parent


class _Parser(argparse.ArgumentParser):
    """A usage error is one line: the command, what is wrong, where its help is."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(errors.USAGE)


class _CommandParser(_Parser):
    """The parser of a command or subcommand: takes the global options too, keeps its examples' layout."""

    def __init__(self, **kwargs):
        kwargs["parents"] = [*kwargs.get("parents", []), _command_globals()]
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)


def _list_and_show(sub, name: str, help_: str, list_help: str, show_help: str, key: str, metavar: str,
                   examples: tuple[str, ...]):
    """`hubctl NAME list` and `hubctl NAME show KEY`; the group's actions, for more."""
    group = sub.add_parser(name, help=help_, epilog=_examples(*examples))
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help=list_help, epilog=_examples(*(e for e in examples if " list" in e)))
    show = actions.add_parser("show", help=show_help, epilog=_examples(*(e for e in examples if " show" in e)))
    show.add_argument(key, metavar=metavar)
    return actions


def _parser() -> argparse.ArgumentParser:
    from hubctl import budget, clock, completion, deploy, lifecycle, research, retire

    p = _Parser(
        prog="hubctl", description="Govern the GenAI Hub: onboard tenants, import, approve and retire models, watch usage "
                                   "against budgets, inspect workflows, read and verify the audit trail.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(p, top=True)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    demo = sub.add_parser("demo", help="deploy and run the sample workflows on the embedded emulation (no AWS account)",
                          epilog=_examples("hubctl demo", "hubctl demo --quiet          outcomes and verification only"))
    demo.add_argument("--quiet", action="store_true", help="outcomes and verification only, no per-state detail")

    local = sub.add_parser("local", help="the embedded emulation as a local AWS endpoint",
                           epilog=_examples("hubctl local up", "hubctl local up --port 4567 --no-samples",
                                            "hubctl local up --clock 2026-11-02T12:00:00Z",
                                            "hubctl --endpoint-url http://127.0.0.1:4566 local clock advance P1D"))
    local_sub = local.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = local_sub.add_parser("up", help="deploy the hub as stack genai-hub and serve it on 127.0.0.1 until Ctrl-C",
                              epilog=_examples("hubctl local up --port 4566",
                                               "hubctl tenants list --endpoint-url http://127.0.0.1:4566   (in another shell)"))
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    up.add_argument("--no-samples", action="store_true", help="do not deploy the tenant spokes of the sample events")
    up.add_argument("--clock", metavar="TIME", help="start the local clock (the time usage metrics are stamped with) at this "
                                                    "past moment, e.g. 2026-11-02T12:00:00Z; see `hubctl local clock --help`")
    clock.add_parser(local_sub)

    onboard = sub.add_parser(
        "onboard", help="send a TenantOnboardingRequested event to the hub bus",
        description="Check an onboarding request against its schema on this machine (every problem, with its field),\n"
                    "then put it on the hub bus; with --wait, follow the onboarding and say why it failed.",
        epilog=_examples("hubctl onboard events/onboarding/acme-retail-us.json --wait",
                         "hubctl onboard my-tenant.json            a bare detail {\"tenant_id\": ...} works too"))
    onboard.add_argument("event_file", metavar="EVENT_FILE",
                         help="JSON file with the event detail, or an events/ sample ({detail-type, detail})")
    onboard.add_argument("--wait", action="store_true", help="wait for the onboarding execution and show its states")
    onboard.add_argument("--timeout", metavar="SECONDS", type=float, default=300, help="seconds to wait with --wait (default 300)")

    tenant_actions = _list_and_show(sub, "tenants", "tenants in the registry: list, show, update, offboard", "all tenants with status and residency",
                   "one tenant: settings, grants, profiles", "tenant_id", "TENANT_ID",
                   ("hubctl tenants list", "hubctl tenants list --output text --query \"[?status=='FAILED'].[tenant_id, failure_reason]\"",
                    "hubctl tenants show acme-retail", "hubctl tenants show acme-retail --output json --query grants"))
    lifecycle.add_actions(tenant_actions)
    model_actions = _list_and_show(sub, "models", "imported models and their versions; foundation models' lifecycle",
                                   "every version with status and outcome",
                                   "one model: versions, lineage, import job, evaluation, audit", "model_name", "MODEL",
                                   ("hubctl models list", "hubctl models list --output json --query \"[?status=='AWAITING_APPROVAL']\"",
                                    "hubctl models show support-bot", "hubctl models lifecycle"))
    m_lifecycle = model_actions.add_parser(
        "lifecycle", help="foundation models tenants hold: Bedrock's lifecycle (ACTIVE/LEGACY, end of life), holders, retirements",
        description=textwrap.fill(width=100, break_on_hyphens=False, text="Lists each foundation model your tenants hold "
                    "as Amazon Bedrock's ListFoundationModels reports its lifecycle, with its successor "
                    "(layer/genai_hub/data/model_successors.json) and its retirements. The hub's lifecycle watch polls "
                    "daily (LifecycleWatchSchedule): a model entering Legacy is retired for its holders at its end-of-life "
                    "date, once. --poll runs the watch now (lambda:InvokeFunction on the stack output "
                    "LifecycleWatchFunctionName)."),
        epilog=_examples("hubctl models lifecycle", "hubctl models lifecycle --output json --query \"[?status=='LEGACY']\"",
                         "hubctl models lifecycle --poll"))
    m_lifecycle.add_argument("--poll", action="store_true", help="run the lifecycle watch now and say what it started")

    imp = sub.add_parser("import", help="re-run the import of a research drop by hand (the upload of import.json does it on its own)",
                         epilog=_examples("hubctl import models/support-bot/1.0.0 --requested-by maria@example.com"))
    imp.add_argument("prefix", metavar="PREFIX", help="folder of the drop in the research bucket, e.g. models/support-bot/1.0.0")
    imp.add_argument("--bucket", help="research bucket (default: the hub stack's ResearchArtifactBucketName)")
    imp.add_argument("--requested-by", default=os.environ.get("USER", "hubctl"), help="who asks (audited)")

    approve = sub.add_parser("approve", help="approve a model version waiting for a human decision (evaluation gate)",
                             epilog=_examples("hubctl approve support-bot 1.0.0 --approver maria@example.com"))
    approve.add_argument("model_name", metavar="MODEL")
    approve.add_argument("version", metavar="VERSION")
    approve.add_argument("--approver", metavar="NAME", help="your name, recorded as a claim beside the identity AWS verified")
    reject = sub.add_parser("reject", help="reject a model version waiting for a human decision",
                            epilog=_examples('hubctl reject support-bot 1.0.0 --reason "tone not on brand" --approver li@example.com'))
    reject.add_argument("model_name", metavar="MODEL")
    reject.add_argument("version", metavar="VERSION")
    reject.add_argument("--reason", required=True, help="why (audited, sent in ModelRejected)")
    reject.add_argument("--approver", metavar="NAME", help="your name, recorded as a claim beside the identity AWS verified")

    evaluations = sub.add_parser("evaluations", help="evaluation results",
                                 epilog=_examples("hubctl evaluations show support-bot 1.0.0"))
    ev_sub = evaluations.add_subparsers(dest="action", metavar="ACTION", required=True)
    ev_show = ev_sub.add_parser("show", help="metrics table, gate and worst items of a version's evaluation",
                                epilog=_examples("hubctl evaluations show support-bot 1.0.0",
                                                 "hubctl evaluations show support-bot 1.0.0 --output json --query aggregate"))
    ev_show.add_argument("model_name", metavar="MODEL")
    ev_show.add_argument("version", metavar="VERSION")

    retire.add_parser(sub)
    retirements = sub.add_parser("retirements", help="model retirements", epilog=_examples("hubctl retirements list"))
    r_sub = retirements.add_subparsers(dest="action", metavar="ACTION", required=True)
    r_sub.add_parser("list", help="every retirement: model, scope, status, date, tenants, counts",
                     epilog=_examples("hubctl retirements list", "hubctl retirements list --output json --query \"[?status=='SCHEDULED']\""))

    budget.add_parsers(sub)
    research.add_parser(sub)
    deploy.add_parser(sub)

    _list_and_show(sub, "executions", "workflow executions", "executions of every workflow",
                   "states, timings and errors of one execution (its name from executions list, or its ARN)", "execution",
                   "NAME|ARN", ("hubctl executions list", "hubctl executions list --output text --query \"[?status=='FAILED'].name\"",
                                "hubctl executions show 4f6ce251-9872-4ef5-9b1d-86a2dd6b41bf",
                                "hubctl executions show arn:aws:states:us-east-1:123456789012:execution:genai-hub-tenant-onboarding:NAME"))

    bench = sub.add_parser(
        "bench", help="benchmark every workflow on the embedded emulation; writes bench/results.{json,md} and bench/scaling.png",
        description="Time each workflow's happy path (1 and N at once), its engine overhead, transitions, Lambda calls and\n"
                    "DynamoDB writes per execution priced per 1,000 (bench/prices.json), scaling of retirement and\n"
                    "onboarding, cold-start imports, and the time of hubctl demo and of the test suite.",
        epilog="examples:\n  hubctl bench                      everything (about 45 minutes on 2 cores, half of it 5,000 onboardings)\n"
               "  hubctl bench --quick              no 5,000-tenant points, no test suite (a few minutes)\n"
               "  hubctl bench --quick --sizes 100,1000,5000 --onboarding-sizes none\n"
               "                                    quick, with retirement at 5,000 and no onboarding scaling\n"
               "bench/baseline.json, when present (a run on an earlier commit), adds a before/after column.")
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
    events = sub.add_parser("events", help="events and notifications the workflows could not deliver",
                            epilog=_examples("hubctl events undelivered", "hubctl events redrive"))
    ev_actions = events.add_subparsers(dest="action", metavar="ACTION", required=True)
    ev_actions.add_parser("undelivered", help="list what is kept in the undelivered queue (workflow, state, event)",
                          epilog=_examples("hubctl events undelivered", "hubctl events undelivered --output json"))
    ev_actions.add_parser("redrive", help="deliver every kept event or notification again; each leaves the queue once delivered",
                          epilog=_examples("hubctl events redrive"))
    ev_sample = ev_actions.add_parser(
        "sample", help="print a sample of events/ as PutEvents entries, for aws events put-events --entries file://...",
        epilog=_examples("hubctl events sample                                  the samples' names",
                         "hubctl events sample onboarding/acme-retail-us > entries.json",
                         "aws events put-events --entries file://entries.json [--endpoint-url http://127.0.0.1:4566]"))
    ev_sample.add_argument("name", metavar="NAME", nargs="?", help="workflow/case (events/onboarding/acme-retail-us.json is "
                                                                   "onboarding/acme-retail-us), or a sample file's path")
    ev_sample.add_argument("--event-bus-name", metavar="BUS", help="the hub's bus (default: <stack name>-bus, the template's name)")
    audit = sub.add_parser("audit", help="the tamper-evident audit trail",
                           epilog=_examples("hubctl audit show --tenant acme-retail", "hubctl audit verify",
                                            "hubctl audit verify --at 2026-11-21T10:00:00Z", "hubctl audit digest"))
    a_sub = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    a_show = a_sub.add_parser("show", help="records of one tenant (or every stream)",
                              epilog=_examples("hubctl audit show --tenant acme-retail", "hubctl audit show --stream model#support-bot",
                                               "hubctl audit show --output json --query \"[?outcome=='FAILED']\""))
    which = a_show.add_mutually_exclusive_group()
    which.add_argument("--tenant", help="tenant id (stream tenant#ID)")
    which.add_argument("--stream", help="any stream, e.g. model#NAME")
    a_verify = a_sub.add_parser(
        "verify", help="recompute every hash chain and check it against the signed digests; name each problem, exit 1 if any",
        description=textwrap.fill(width=100, break_on_hyphens=False, text="Each stream is a hash chain: an edited, deleted, inserted or reordered record breaks it and is named "
                    "(stream, seq). A removed tail or a chain rewritten with fresh hashes leaves a valid chain: the signed "
                    "digests of every chain's head (written hourly to an Object Lock bucket, or by `hubctl audit digest`) "
                    "catch those: a stream shorter than a digest saw (tail-removed), a record that is not the one a digest "
                    "saw (rewritten), a stream gone (stream-deleted). The digests are checked too: unsigned, signature not "
                    "verifying (digest-tampered), gone or replaced (digest-missing), written over (digest-overwritten). "
                    "Each problem comes with what to do (docs/auditor.md). Needs read access to the audit table, the digest "
                    "bucket (s3:ListBucketVersions, s3:GetObjectVersion) and kms:Verify on the digest key."),
        epilog=_examples("hubctl audit verify", "hubctl audit verify --at 2026-11-21T10:00:00Z   the trail as the newest "
                         "digest at or before then proves it", "hubctl audit verify --stack-name genai-hub --region eu-central-1"))
    a_verify.add_argument("--at", metavar="TIME", help="prove the trail as of TIME (RFC 3339, or a day = its midnight UTC): the "
                                                       "newest digest at or before it is the reference; records and digests "
                                                       "written after it are not judged")
    a_sub.add_parser(
        "digest", help="write a signed digest of every chain's head now (as the hourly schedule does)",
        description=textwrap.fill(width=100, break_on_hyphens=False, text="Invokes the hub's digest function (lambda:InvokeFunction on the stack output AuditDigestFunctionName): "
                    "it reads every chain's head, signs the digest with the hub's KMS key (only that function may) and "
                    "writes it once, under digests/YYYY/MM/DD/, to the Object Lock bucket. A second digest in the same second "
                    "is not written. Use it before and after maintenance, or to anchor records at once."),
        epilog=_examples("hubctl audit digest", "hubctl audit digest --endpoint-url http://127.0.0.1:4566"))
    completion.add_parser(sub)
    return p


# --- onboard, import, approve, reject -------------------------------------------------------------------

def _send(hub, detail_type: str, detail: dict) -> str:
    from hubctl.follow import send_event

    return send_event(hub, detail_type, detail)


def _onboard(args):
    """Read and check the file (before connecting: nothing is sent that the hub would reject), then what to send."""
    from hubctl import validate
    from hubctl.follow import positive_timeout

    positive_timeout(args, "onboard")
    detail_type, detail = validate.read_event_file(args.event_file)
    validate.check_event(detail_type, detail, args.event_file)
    return lambda hub: _send_onboarding(hub, args, detail_type, detail)


def _send_onboarding(hub, args, detail_type: str, detail: dict) -> int:
    event_id = _send(hub, detail_type, detail)
    tenant_id = detail.get("tenant_id", "?")
    views.console.print(f"sent {detail_type} for {tenant_id} (event {event_id})")
    if not args.wait:
        return 0
    from hubctl.follow import execution_of_event

    found = execution_of_event(hub, "OnboardingStateMachineArn", event_id, "waiting for the onboarding execution...", args.timeout)
    if found is None:
        raise WorkflowFailed(f"no finished onboarding execution for event {event_id} after {args.timeout:g}s: "
                             f"see `hubctl executions list`, then `hubctl tenants show {tenant_id}`")
    views.print_execution(hub, found["executionArn"])
    if found["status"] == "SUCCEEDED":
        return 0
    raise _onboarding_failure(hub, found, tenant_id)


def _onboarding_failure(hub, described: dict, tenant_id: str) -> HubctlError:
    """Why an onboarding failed, with the fix the registry holds (what `hubctl tenants show` prints)."""
    from hubctl.follow import rejected_message, rejection

    if described.get("error") == "InputRejected":
        field, reason = rejection(hub, described["executionArn"])
        return RequestRejected(rejected_message(field, reason, {}) + "; nothing was created (the rejection is audited)")
    meta = views.tenant_items(hub, tenant_id).get("META") or {}
    error = meta.get("failure_error") or described.get("error") or described["status"]
    reason = meta.get("failure_reason") or described.get("cause") or "see the execution's states above"
    return WorkflowFailed(f"onboarding of {tenant_id} ended {described['status']}: {error}: {reason}"
                          f" (see `hubctl tenants show {tenant_id}`)")


def _import(hub, args) -> int:
    from hubctl import validate

    detail = {"bucket": args.bucket or hub.output("ResearchArtifactBucketName"), "prefix": args.prefix.strip("/"),
              "requested_by": args.requested_by}
    validate.check_request("ModelImportRequested", detail,
                           {"$.bucket": "--bucket", "$.prefix": "PREFIX", "$.requested_by": "--requested-by"})
    event_id = _send(hub, "ModelImportRequested", detail)
    views.console.print(f"sent ModelImportRequested (event {event_id}); follow it with `hubctl executions list`")
    return 0


def _decide(hub, args) -> int:
    """Take the decision through the hub's decision door, signed as you; print who the hub says you are."""
    from hubctl import decide

    body = {"action": args.command, "model": args.model_name, "version": args.version}
    if args.approver:
        body["name"] = args.approver
    if args.command == "reject":
        body["reason"] = args.reason
    taken = decide.send(hub, body)
    views.console.print(f"{args.command}d {args.model_name} {args.version} as {taken['acted_as']} (verified by AWS; "
                        f"allowed by {taken['rule']}); the evaluation workflow continues")
    return 0


def _bench(args) -> int:
    from hubctl import bench
    from hubctl.follow import usage_error

    def sizes_of(flag: str, text: str | None, default: str, quick: str) -> tuple[int, ...]:
        text = text or (quick if args.quick else default)  # sizes given on the command line win over --quick
        try:
            sizes = () if text == "none" else tuple(int(n) for n in text.split(","))
            if any(n < 1 for n in sizes):
                raise ValueError
        except ValueError:
            raise usage_error(f"{flag} {text!r}: expected positive whole numbers separated by commas, "
                              "e.g. 100,1000, or none", "bench") from None
        return sizes

    sizes = sizes_of("--sizes", args.sizes, "100,1000,5000", "100,1000")
    onboarding_sizes = sizes_of("--onboarding-sizes", args.onboarding_sizes, "100,1000,5000", "100")
    if args.concurrency < 1:
        raise usage_error(f"--concurrency {args.concurrency}: expected a positive whole number, e.g. 32", "bench")
    return bench.run(concurrency=args.concurrency, sizes=sizes, onboarding_sizes=onboarding_sizes, cold=not args.no_cold_starts,
                     demo=not args.no_demo, suite=not (args.no_suite or args.quick))


# --- main -----------------------------------------------------------------------------------------------

def _prog(args) -> str:
    return " ".join(["hubctl", *(p for p in (getattr(args, "command", None), getattr(args, "action", None)) if p)])


def _prepare(args, query):
    """Everything checked on this machine (flags, files), then what to run on the hub."""
    from hubctl import budget, reads, retire

    if (args.command, getattr(args, "action", None)) == ("models", "lifecycle") and args.poll:
        return views.poll_model_lifecycles
    read = reads.READS.get((args.command, getattr(args, "action", None)))
    if read:
        return lambda hub: output.show(read(hub, args), args.output, query) or 0
    if args.command == "usage":
        return budget.prepare_usage(args, query)
    if args.command == "budget":
        return budget.prepare_run(args)
    if args.command == "retire":
        return retire.prepare(args)
    if args.command == "onboard":
        return _onboard(args)
    if args.command == "tenants" and getattr(args, "action", None) in ("update", "offboard"):
        from hubctl import lifecycle

        return lifecycle.prepare_update(args) if args.action == "update" else lifecycle.prepare_offboard(args)
    if args.command == "import":
        return lambda hub: _import(hub, args)
    if args.command in ("approve", "reject"):
        return lambda hub: _decide(hub, args)
    if args.command == "events":  # redrive; undelivered is a read
        from hubctl import redrive

        return redrive.redrive
    if args.command == "audit" and args.action == "digest":
        return views.write_audit_digest
    if args.command == "audit":  # verify; show is a read
        at = _audit_time(args.at) if args.at else None
        return lambda hub: 1 if views.verify_audit(hub, at) else 0
    raise AssertionError(f"no handler for {_prog(args)}")


def _audit_time(text: str) -> str:
    """--at of `audit verify` as RFC 3339 UTC to the second (digest times are); a day is its midnight UTC."""
    import re
    from datetime import datetime, timezone

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {text!r}: expected an RFC 3339 date-time such as 2026-11-21T10:00:00Z, or a day 2026-11-21") from None
    if moment.tzinfo is None:
        raise UsageError(f"--at {text!r} has no time zone: add Z (UTC) or an offset, e.g. {text}Z")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(args) -> int:
    from hubctl.reads import READS

    query = output.compile_query(args.query)
    if (args.output != "table" or query is not None) and (args.command, getattr(args, "action", None)) not in READS \
            and args.command != "usage" and (args.command, getattr(args, "action", None)) != ("deploy", "plan"):
        raise UsageError(f"--output {args.output}{' and --query' if query is not None else ''}: only the read commands "
                         "(list, show, usage, events undelivered) and deploy plan print data; this one prints what it did")
    if args.command == "demo":
        from hubctl.demo import run
        from hubsim.patches import authz

        if authz.mode() != "enforce":  # the demo shows the hub as AWS would run it, refusals included
            raise UsageError(f"{authz.ENV}={os.environ.get(authz.ENV)} turns IAM enforcement off; the demo always "
                             f"runs with it on: unset {authz.ENV} (it is for debugging the emulation only)")
        return run(quiet=args.quiet)
    if args.command == "bench":
        return _bench(args)
    if args.command == "deploy":  # offline: the templates and samconfig.toml, no AWS call
        from hubctl import deploy

        return deploy.run(args, query)
    if args.command == "research":  # the research account's bucket, not the hub stack
        from hubctl import research

        return research.drop(args)
    if args.command == "events" and args.action == "sample":  # offline: the files of events/
        from hubctl import samples

        found = samples.entries(args.name, args.event_bus_name or f"{args.stack_name}-bus") if args.name else samples.names()
        print(json.dumps(found, indent=2) if args.name else "\n".join(found))
        return 0
    if args.command == "completion":  # offline: generated from this parser
        from hubctl import completion

        print(completion.script(_parser(), args.shell), end="")
        return 0
    if args.command == "local" and args.action == "clock":
        from hubctl import clock

        return clock.run(args)
    if args.command == "local":
        from hubctl.follow import moment
        from hubctl.server import serve

        clock_at = moment(args.clock, "--clock", "local up", future=False) if args.clock else None
        return serve(host=args.host, port=args.port, stack_name=args.stack_name, samples=not args.no_samples, clock_at=clock_at)
    runner = _prepare(args, query)
    return runner(connect(args.stack_name, args.endpoint_url, args.region))


def _as_hubctl_error(exc: Exception, args) -> HubctlError:
    """What an exception from boto3 or the stack lookup means for the person at the terminal."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, StackNotFound):
        return HubUnreachable(str(exc))
    if isinstance(exc, NoCredentialsError):
        return HubUnreachable("no AWS credentials: configure them (aws configure) or pass --endpoint-url "
                              "http://127.0.0.1:4566 for `hubctl local up`")
    if isinstance(exc, EndpointConnectionError):
        return HubUnreachable(f"cannot reach {args.endpoint_url or 'AWS'} ({exc}): is `hubctl local up` running, "
                              "is --endpoint-url right?")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return HubUnreachable(f"AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')}: check the "
                              "credentials' permissions, --region and --stack-name")
    if isinstance(exc, BotoCoreError):
        return HubUnreachable(f"AWS call failed: {exc}")
    error = HubctlError(f"unexpected {type(exc).__name__}: {exc}: this is a bug in hubctl; run again with --debug "
                        "for the traceback and report it")
    error.code = errors.BUG
    return error


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return errors.USAGE
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{_prog(args)}: interrupted", file=sys.stderr)
        return errors.INTERRUPTED
    except BrokenPipeError:  # the reader went away (hubctl ... | head): what it read is the answer, as for the AWS CLI
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error while Python flushes stdout
        return 0
    except Exception as exc:  # every failure: one line per problem on stderr, the documented exit code
        if args.debug and not isinstance(exc, HubctlError):
            raise
        error = exc if isinstance(exc, HubctlError) else _as_hubctl_error(exc, args)
        for line in error.lines():
            print(f"{_prog(args)}: error: {line}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    sys.exit(main())
