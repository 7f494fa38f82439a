"""`hubctl tenants offboard`: a tenant's lifecycle after onboarding, through the hub's workflows.

The command checks the request on this machine against the event's schema (nothing is sent that
the hub would reject for its shape), puts it on the hub bus as any EventBridge client would, and with
--wait (always with --dry-run, whose answer is the plan) follows the execution that event started.
"""
import os

from hubctl import views
from hubctl.errors import RequestRejected, WorkflowFailed

OFFBOARD_EXAMPLES = """examples:
  hubctl tenants offboard acme-retail --reason "line of business closed" --dry-run     what would be deleted
  hubctl tenants offboard acme-retail --reason "line of business closed" --wait
Access is cut first (the tenant's next call is refused), then its usage is closed up to that moment,
then its profiles and grants are deleted. The tenant stays readable: tenants show, usage --tenant and
audit show --tenant work on it. To onboard it again later, send a new onboarding request."""
FLAG_OF_FIELD = {"$.tenant_id": "TENANT_ID", "$.reason": "--reason", "$.requested_by": "--requested-by"}


def add_actions(actions) -> None:
    """`hubctl tenants offboard` (tenants list and show are reads)."""
    offboard = actions.add_parser("offboard", help="offboard a tenant: access cut first, usage closed, profiles and grants "
                                                   "deleted, its history kept", epilog=OFFBOARD_EXAMPLES)
    offboard.add_argument("tenant_id", metavar="TENANT_ID")
    offboard.add_argument("--reason", required=True, help="why (audited, kept on the tombstone, sent in TenantOffboarded)")
    offboard.add_argument("--requested-by", default=os.environ.get("USER", "hubctl"), help="who asks (audited; default $USER)")
    offboard.add_argument("--dry-run", action="store_true", help="say what would be deleted and change nothing (waits)")
    offboard.add_argument("--wait", action="store_true", help="wait for the offboarding and show its outcome")
    offboard.add_argument("--timeout", metavar="SECONDS", type=float, default=900,
                          help="seconds to wait (default 900: the metering lag is part of the run)")


def prepare_offboard(args):
    """The request checked against its schema (before connecting), then the run to send."""
    from hubctl import validate
    from hubctl.follow import positive_timeout

    positive_timeout(args, "tenants offboard")
    detail = {"tenant_id": args.tenant_id, "reason": args.reason, "requested_by": args.requested_by}
    if args.dry_run:
        detail["dry_run"] = True
    validate.check_request("TenantOffboardingRequested", detail, FLAG_OF_FIELD)
    return lambda hub: _offboard(hub, args, detail)


def _offboard(hub, args, detail: dict) -> int:
    import json

    from hubctl.follow import execution_of_event, rejected_message, rejection, send_event

    tenant_id = detail["tenant_id"]
    event_id = send_event(hub, "TenantOffboardingRequested", detail)
    views.console.print(f"sent TenantOffboardingRequested for {tenant_id}{' (dry run)' if args.dry_run else ''} (event {event_id})")
    if not (args.wait or args.dry_run):
        views.console.print(f"  follow it with `hubctl executions list`, then `hubctl tenants show {tenant_id}`")
        return 0
    found = execution_of_event(hub, "OffboardingStateMachineArn", event_id, f"offboarding {tenant_id}...", args.timeout)
    if found is None:
        raise WorkflowFailed(f"the offboarding of {tenant_id} had not ended after {args.timeout:g}s: see `hubctl executions list`")
    if found.get("error") == "InputRejected":
        field, reason = rejection(hub, found["executionArn"])
        raise RequestRejected(rejected_message(field, reason, FLAG_OF_FIELD) + "; nothing was changed (the rejection is audited)")
    if found["status"] != "SUCCEEDED":
        meta = views.tenant_items(hub, tenant_id).get("META") or {}
        failure = (meta.get("offboarding") or {}).get("failure") or {}
        if meta.get("status") == "OFFBOARDING":
            raise WorkflowFailed(f"the offboarding of {tenant_id} failed after deletion began ({failure.get('error')}: "
                                 f"{failure.get('reason')}): access stays cut; run the same command again to finish it")
        raise WorkflowFailed(f"the offboarding of {tenant_id} failed before anything was deleted; access is restored "
                             f"({meta.get('status')}): see `hubctl executions show {found['executionArn']}`")
    output = json.loads(found.get("output") or "{}")
    if output.get("outcome") == "already":
        views.console.print(f"{tenant_id} is already {output['tenant']['status']}: nothing changed")
        return 0
    plan = output["plan"]
    if args.dry_run:
        views.console.print(f"dry run: offboarding {tenant_id} ({output['tenant']['status']}, cost centre "
                            f"{output['tenant']['cost_center']}) would cut its access, close its usage and delete "
                            f"{len(plan['profiles'])} profile(s) and {len(plan['grants'])} grant(s); nothing was changed")
        for profile in plan["profiles"]:
            views.console.print(f"  {profile['model_id']}: {profile['profile_arn']}", soft_wrap=True)
        for model in sorted(set(plan["grants"]) - {p["model_id"] for p in plan["profiles"]}):
            views.console.print(f"  {model}: grant")
        return 0
    done = output["offboarded"]
    views.console.print(f"offboarded {tenant_id}: access cut at {done['access_cut_at']}, final spend {done['final_month_to_date_usd']} "
                        f"USD for {done['month']}, {len(done['deleted']['profiles'])} profile(s) and "
                        f"{len(done['deleted']['grants'])} grant(s) deleted; its history stays: "
                        f"`hubctl tenants show {tenant_id}`, `hubctl audit show --tenant {tenant_id}`")
    return 0
