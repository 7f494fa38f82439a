"""`hubctl tenants update` and `hubctl tenants offboard`: a tenant's lifecycle after onboarding,
through the hub's workflows.

The command checks the request on this machine against the event's schema (nothing is sent that
the hub would reject for its shape), puts it on the hub bus as any EventBridge client would, and with
--wait (always with --dry-run, whose answer is the plan) follows the execution that event started.
"""
import json
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
UPDATE_EXAMPLES = """examples:
  hubctl tenants update acme-retail --add-model anthropic.claude-sonnet-4-20250514-v1:0 --wait
  hubctl tenants update acme-retail --remove-model amazon.nova-lite-v1:0 --wait      access revoked first
  hubctl tenants update acme-retail --monthly-limit 8000 --orange 0.95 --cost-center CC-4410 --wait
  hubctl tenants update acme-retail --monthly-limit 8000 --dry-run                   what would change
  hubctl tenants update acme-retail --guardrail strict --wait                        sessions renewed with it
A model is added through a profile in the tenant's residency, as at onboarding (refused when it is
retired or retiring for the tenant, naming its successor). A new limit is used by the next budget run
(a suspended tenant back under it is restored there). A new guardrail (one of the hub's: standard,
strict) revokes the tenant's sessions: the next call carries the new one. The data residency cannot change: offboard the
tenant and onboard it again."""
UPDATE_FLAGS = {"$.add_models": "--add-model", "$.remove_models": "--remove-model", "$.budget.monthly_limit_usd": "--monthly-limit",
                "$.budget.thresholds": "--yellow/--orange", "$.budget.on_red": "--on-red", "$.budget": "--monthly-limit/--yellow/--orange/--on-red",
                "$.cost_center": "--cost-center", "$.guardrail": "--guardrail", "$": "a change (--add-model, --remove-model, --monthly-limit, ...)", **FLAG_OF_FIELD}


def add_actions(actions) -> None:
    """`hubctl tenants update` and `hubctl tenants offboard` (tenants list and show are reads)."""
    update = actions.add_parser("update", help="change a tenant: add or remove models, budget, thresholds, RED policy, "
                                               "cost centre, guardrail", epilog=UPDATE_EXAMPLES)
    update.add_argument("tenant_id", metavar="TENANT_ID")
    update.add_argument("--add-model", metavar="MODEL_ID", action="append", help="grant a foundation model (repeat for more)")
    update.add_argument("--remove-model", metavar="MODEL_ID", action="append", help="take a model away (repeat for more)")
    update.add_argument("--monthly-limit", metavar="USD", type=float, help="the monthly budget in USD")
    update.add_argument("--yellow", metavar="FRACTION", type=float, help="yellow threshold, a fraction of the limit (e.g. 0.8)")
    update.add_argument("--orange", metavar="FRACTION", type=float, help="orange threshold, a fraction of the limit (e.g. 0.9)")
    update.add_argument("--on-red", choices=("suspend", "notify-only"), help="what RED does")
    update.add_argument("--cost-center", metavar="CC", help="new cost centre (every profile's cost-allocation tag follows)")
    update.add_argument("--guardrail", metavar="NAME", help="another of the hub's guardrails (standard, strict): every call "
                                                            "of the tenant must carry it; its live sessions are revoked")
    update.add_argument("--reason", help="why (audited)")
    update.add_argument("--requested-by", default=os.environ.get("USER", "hubctl"), help="who asks (audited; default $USER)")
    update.add_argument("--dry-run", action="store_true", help="check the change against the tenant and change nothing (waits)")
    update.add_argument("--wait", action="store_true", help="wait for the update and show what changed")
    update.add_argument("--timeout", metavar="SECONDS", type=float, default=300, help="seconds to wait (default 300)")
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


def _send_and_follow(hub, args, detail_type: str, detail: dict, machine_output: str, doing: str, flags: dict,
                     decision: str | None = None) -> dict | None:
    """Put the request on the bus (a `decision` through the hub's decision door, as the identity AWS
    verified); with --wait or --dry-run, the execution it started once ended (None without them). A
    rejection is one line naming the flag (exit 2); a run not ended in time exit 1."""
    from hubctl import decide
    from hubctl.follow import execution_of_event, rejected_message, rejection, send_event

    tenant_id = detail["tenant_id"]
    if decision:
        taken = decide.send(hub, {"action": decision, "request": detail})
        event_id, who = taken["event_id"], f" as {taken['acted_as']}"
    else:
        event_id, who = send_event(hub, detail_type, detail), ""
    views.console.print(f"sent {detail_type} for {tenant_id}{' (dry run)' if args.dry_run else ''}{who} (event {event_id})")
    if not (args.wait or args.dry_run):
        views.console.print(f"  follow it with `hubctl executions list`, then `hubctl tenants show {tenant_id}`")
        return None
    found = execution_of_event(hub, machine_output, event_id, f"{doing} {tenant_id}...", args.timeout)
    if found is None:
        raise WorkflowFailed(f"{doing} {tenant_id} had not ended after {args.timeout:g}s: see `hubctl executions list`")
    if found.get("error") == "InputRejected":
        field, reason = rejection(hub, found["executionArn"])
        raise RequestRejected(rejected_message(field, reason, flags) + "; nothing was changed (the rejection is audited)")
    return found


def _offboard(hub, args, detail: dict) -> int:
    tenant_id = detail["tenant_id"]
    found = _send_and_follow(hub, args, "TenantOffboardingRequested", detail, "OffboardingStateMachineArn", "offboarding", FLAG_OF_FIELD,
                             decision="offboard")
    if found is None:
        return 0
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


# --- update ---------------------------------------------------------------------------------------------

def prepare_update(args):
    """The change built from the flags and checked against its schema (before connecting)."""
    from hubctl import validate
    from hubctl.follow import positive_timeout

    positive_timeout(args, "tenants update")
    detail = {"tenant_id": args.tenant_id, "requested_by": args.requested_by}
    if args.add_model:
        detail["add_models"] = args.add_model
    if args.remove_model:
        detail["remove_models"] = args.remove_model
    budget = {k: v for k, v in (("monthly_limit_usd", args.monthly_limit), ("on_red", args.on_red)) if v is not None}
    thresholds = {k: v for k, v in (("yellow", args.yellow), ("orange", args.orange)) if v is not None}
    if thresholds:
        budget["thresholds"] = thresholds
    if budget:
        detail["budget"] = budget
    if args.cost_center is not None:
        detail["cost_center"] = args.cost_center
    if args.guardrail is not None:
        detail["guardrail"] = args.guardrail
    if not set(detail) & {"add_models", "remove_models", "budget", "cost_center", "guardrail"}:
        from hubctl.errors import UsageError

        raise UsageError("nothing to change: give --add-model, --remove-model, --monthly-limit, --yellow, --orange, --on-red, "
                         "--cost-center or --guardrail (a data residency cannot change: offboard and onboard again)")
    if args.reason is not None:
        detail["reason"] = args.reason
    if args.dry_run:
        detail["dry_run"] = True
    validate.check_request("TenantUpdateRequested", detail, UPDATE_FLAGS)
    return lambda hub: _update(hub, args, detail)


def _update(hub, args, detail: dict) -> int:
    tenant_id = detail["tenant_id"]
    found = _send_and_follow(hub, args, "TenantUpdateRequested", detail, "TenantUpdateStateMachineArn", "updating", UPDATE_FLAGS)
    if found is None:
        return 0
    if found["status"] != "SUCCEEDED":
        raise WorkflowFailed(f"the update of {tenant_id} failed ({found.get('error')}) and was undone: the tenant is as it was; "
                             f"see `hubctl audit show --tenant {tenant_id}`")
    output = json.loads(found.get("output") or "{}")
    plan = output.get("plan", {})
    if args.dry_run:
        views.console.print(f"dry run: {tenant_id} ({plan.get('status')}) would get "
                            f"{', '.join(plan.get('add_models') or []) or 'no new model'}, give up "
                            f"{', '.join(plan.get('remove') or {}) or 'no model'}, budget {plan.get('budget', {}).get('monthly_limit_usd')} "
                            f"USD/month (thresholds {plan.get('budget', {}).get('thresholds')}), cost centre {plan.get('cost_center')}, "
                            f"guardrail {plan.get('guardrail')}; "
                            "nothing was changed")
        return 0
    if plan.get("duplicate"):
        views.console.print(f"this request was applied before (a redelivered event): nothing changed")
        return 0
    changes = output["updated"]["changes"]
    done = [f"added {', '.join(p['model_id'] for p in changes['added'])}" if changes["added"] else "",
            f"removed {', '.join(changes['removed'])}" if changes["removed"] else "",
            f"budget {changes['budget']['monthly_limit_usd']} USD/month" if "budget" in changes else "",
            f"cost centre {changes['cost_center']}" if "cost_center" in changes else "",
            f"guardrail {changes['guardrail']} (sessions renewed)" if "guardrail" in changes else ""]
    views.console.print(f"updated {tenant_id}: {'; '.join(d for d in done if d)}")
    for profile in changes["added"]:
        views.console.print(f"  modelId for {profile['model_id']}: {profile['profile_arn']}", soft_wrap=True)
    return 0
