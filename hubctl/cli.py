"""hubctl command line. Run `hubctl --help`, or `hubctl COMMAND --help` for each command."""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from hubctl import views
from hubctl.stack import StackNotFound, connect

EPILOG = """examples:
  hubctl demo                                   run everything on the embedded emulation
  hubctl local up --port 4566                   serve the emulation as an AWS endpoint
  hubctl --endpoint-url http://127.0.0.1:4566 onboard events/onboarding/acme-retail-us.json --wait
  hubctl tenants list                           (deployed stack, default AWS credentials)
  hubctl audit verify --stack-name genai-hub
"""


def _list_and_show(sub, name: str, help_: str, list_help: str, show_help: str, key: str) -> None:
    """`hubctl NAME list` and `hubctl NAME show KEY`."""
    actions = sub.add_parser(name, help=help_).add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help=list_help)
    actions.add_parser("show", help=show_help).add_argument(key)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hubctl", description="Govern the GenAI Hub: onboard tenants, inspect workflows, read and verify the audit trail.",
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

    _list_and_show(sub, "executions", "workflow executions", "executions of every workflow",
                   "states, timings and errors of one execution", "execution_arn")

    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    a_sub = audit.add_subparsers(dest="action", metavar="ACTION")
    a_show = a_sub.add_parser("show", help="records of one tenant (or every stream)")
    a_show.add_argument("--tenant", help="tenant id (stream tenant#ID)")
    a_show.add_argument("--stream", help="any stream, e.g. model#NAME")
    a_sub.add_parser("verify", help="recompute every hash chain; names the first altered, inserted or missing record")
    return p


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


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from hubctl.demo import run

        return run(quiet=args.quiet)
    if args.command == "local":
        if args.action != "up":
            parser.parse_args(["local", "--help"])
        from hubctl.server import serve

        return serve(host=args.host, port=args.port, stack_name=args.stack_name, samples=not args.no_samples)
    if getattr(args, "action", "") is None:
        parser.parse_args([args.command, "--help"])
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
        if args.command == "evaluations":
            return 0 if views.print_evaluation(hub, args.model_name, args.version) else 1
        if args.command == "executions":
            if args.action == "list":
                views.print_executions(hub)
                return 0
            views.print_execution(hub, args.execution_arn)
            return 0
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
