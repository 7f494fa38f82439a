"""`hubctl usage` (what the budget runs metered, against each budget) and `hubctl budget run` (start the
metering and level assessment by hand, as the schedule does)."""
import argparse
import os
import re
import sys
from datetime import datetime, timezone

from hubctl import output, views
from hubctl.errors import RequestRejected, UsageError, WorkflowFailed
from hubctl.follow import ended, moment, poll, positive_timeout, rejected_message, rejection, start_named, usage_error

USAGE_EPILOG = """examples:
  hubctl usage                                  every tenant this month (UTC), hottest first, and the hub
  hubctl usage --month 2026-10 --png usage.png  last month, with a chart per tenant and for the hub
  hubctl usage --tenant acme-retail             one tenant: daily spend against the budget's pace, models, why its level
  hubctl usage --output json --query "tenants[?level_in_force=='RED'].tenant_id"

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

FLAG_OF_FIELD = {"$.as_of": "--as-of", "$.tenants": "--tenants", "$.requested_by": "--requested-by"}


def add_parsers(sub) -> None:
    usage = sub.add_parser(
        "usage", help="metered usage and budget levels of a month: every tenant and the hub, or one tenant in detail",
        description="Usage metered from the tenants' application inference profiles, priced, against each budget.",
        epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    usage.add_argument("--tenant", metavar="ID", help="one tenant: its daily spend as a chart, usage per model, why its level")
    usage.add_argument("--month", metavar="YYYY-MM", help="the month to show (default: the current month, UTC)")
    usage.add_argument("--export", metavar="YYYY-MM-DD", help="write that UTC day's usage as FOCUS 1.2 rows to the usage export "
                                                              "bucket now (as the daily schedule does) and say where")
    usage.add_argument("--png", metavar="FILE", help="also write a chart (PNG): daily bars, month to date, limit and thresholds, "
                                                     "for the tenant or for the hub and every tenant")
    budget = sub.add_parser("budget", help="budget alerts: run the metering and level assessment by hand",
                            epilog="examples:\n  hubctl budget run --wait\n  hubctl budget run --help")
    actions = budget.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run", help="meter usage up to now (or --as-of) and assess every tenant's level and the hub's",
        description="Start the budget-alerts workflow: meter each tenant's usage since its last run, price it, assess\n"
                    "its level (GREEN, YELLOW, ORANGE, RED) and the hub's, act on changes (RED suspends when the tenant's\n"
                    "budget says so) and emit TenantBudgetLevelChanged and HubBudgetLevelChanged.",
        epilog=BUDGET_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--as-of", metavar="TIME", help="meter up to this moment: RFC 3339 (2026-10-15T00:00:00Z) or a day "
                                                     "(2026-10-15, 00:00 UTC); not in the future (default: now; on a local hub "
                                                     "whose clock is simulated, that clock's time)")
    run.add_argument("--tenants", metavar="ID,ID", help="only these tenants, separated by commas (default: every ACTIVE or SUSPENDED one)")
    run.add_argument("--requested-by", metavar="WHO", default=os.environ.get("USER", "hubctl"), help="who asks (audited on a rejection; default $USER)")
    run.add_argument("--wait", action="store_true", help="wait for the run and show the level changes and the hub's level")
    run.add_argument("--timeout", metavar="SECONDS", type=float, default=300, help="seconds to wait with --wait (default 300)")


# --- hubctl usage -------------------------------------------------------------------------------------

def _month(text: str | None) -> str:
    """--month as YYYY-MM (default: the current month, UTC)."""
    if text is None:
        return datetime.now(timezone.utc).strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise usage_error(f"--month {text!r}: expected a month as YYYY-MM, e.g. {datetime.now(timezone.utc):%Y-%m}", "usage")
    return text


def prepare_usage(args, query):
    """Check the flags (before connecting), then what to show (or, with --export, the day to export)."""
    if args.export:
        try:
            day = datetime.strptime(args.export, "%Y-%m-%d").date()
        except ValueError:
            raise usage_error(f"--export {args.export!r}: expected a day as YYYY-MM-DD, e.g. {datetime.now(timezone.utc):%Y-%m-%d}",
                              "usage") from None
        return lambda hub: views.export_usage(hub, day.isoformat())
    month = _month(args.month)
    return lambda hub: _show_usage(hub, args, month, query)


def usage_data(hub, month: str, tenant_id: str | None) -> dict:
    """What `hubctl usage --output json` prints: each tenant's usage item of the month with its status and
    the level in force, and the hub's; or, with --tenant, that tenant's item and budget."""
    from hubctl.reads import public

    tenants = views.indexed_tenants(hub)
    rows = [{**public(i), "status": tenants.get(i["tenant_id"], {}).get("status"),
             "level_in_force": views.level_in_force(i, tenants.get(i["tenant_id"], {}))}
            for i in views.month_usage(hub, month) if tenant_id in (None, i["tenant_id"])]
    if tenant_id:
        meta = tenants.get(tenant_id, {})
        return {"tenant_id": tenant_id, "month": month, "status": meta.get("status"), "budget": meta.get("budget"),
                "usage": rows[0] if rows else None}
    hub_item, hub_meta = views.hub_budget(hub, month)
    return {"month": month, "tenants": rows,
            "hub": {**public(hub_item), "level_in_force": views.level_in_force(hub_item, hub_meta)} if hub_item else None}


def _show_usage(hub, args, month: str, query) -> int:
    if args.tenant and not views.tenant_items(hub, args.tenant).get("META"):
        raise UsageError(f"--tenant {args.tenant!r}: no tenant {args.tenant!r} in the registry (see hubctl tenants list)")
    table = (lambda: views.print_tenant_usage(hub, args.tenant, month)) if args.tenant else (lambda: views.print_usage(hub, month))
    output.show(output.Shown(data=lambda: usage_data(hub, month, args.tenant), table=table), args.output, query)
    if args.png:
        # Told on stderr when stdout is data (json, text): it must stay parseable.
        say = views.console.print if args.output == "table" and query is None else (lambda text: print(text, file=sys.stderr))
        panels, left_out = views.usage_chart_panels(hub, month, args.tenant)
        if not panels:
            say(f"nothing metered for {month}: no chart written")
            return 0
        try:
            views.write_usage_png(args.png, month, panels)
        except views.ChartUnavailable as exc:
            raise WorkflowFailed(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"--png {args.png}: cannot write it ({exc.strerror or exc})") from None
        say(f"chart written to {args.png} ({len(panels)} panel(s)" + (f"; {left_out} cooler tenant(s) left out" if left_out else "") + ")")
    return 0


# --- hubctl budget run --------------------------------------------------------------------------------

def prepare_run(args):
    """Check the flags against the request schema (before connecting), then the run to start."""
    request = {"requested_by": args.requested_by}
    if args.as_of is not None:
        request["as_of"] = moment(args.as_of, "--as-of", "budget run", future=False)
    else:  # a local hub whose clock is simulated: its traffic is stamped with that clock, so meter up to it
        from hubctl import clock

        if (local_now := clock.simulated_now(args.endpoint_url)) is not None:
            request["as_of"], args.as_of = local_now, "the local clock"
    if args.tenants is not None:
        request["tenants"] = [t.strip() for t in args.tenants.split(",") if t.strip()]
    positive_timeout(args, "budget run")
    from genai_hub import schemas
    from genai_hub.errors import InvalidInput

    try:
        schemas.validate_detail("BudgetRunRequested", request)
    except InvalidInput as exc:
        flag = next((f for path, f in FLAG_OF_FIELD.items() if exc.field == path or exc.field.startswith(path + "[")), exc.field)
        raise usage_error(f"{flag}: {str(exc).split(': ', 1)[-1]}", "budget run") from None
    return lambda hub: _start_budget_run(hub, args, request)


def _run_name() -> str:
    return f"budget-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')[:18]}Z"


def _start_budget_run(hub, args, request: dict) -> int:
    sfn, machine = hub.client("stepfunctions"), hub.output("BudgetAlertsStateMachineArn")
    execution = start_named(sfn, machine, request, _run_name)
    source = " (the local clock's time)" if args.as_of == "the local clock" else ""
    views.console.print(f"budget run started{' as of ' + request['as_of'] + source if 'as_of' in request else ''}: {execution}")
    if not args.wait:
        views.console.print(f"  follow it with `hubctl executions show {execution}`; then `hubctl usage`")
        return 0
    described = poll("metering usage, assessing levels...", ended(sfn, execution), args.timeout, interval=0.1)
    if described is None:
        raise WorkflowFailed(f"not finished after {args.timeout:g}s: follow it with `hubctl executions show {execution}`")
    if described.get("error") == "InputRejected":
        field, reason = rejection(hub, execution)
        raise RequestRejected(rejected_message(field, reason, FLAG_OF_FIELD)
                              + "; nothing was metered (the rejection is audited: WorkflowInputRejected)")
    if described["status"] != "SUCCEEDED":
        raise WorkflowFailed(f"the budget run ended {described['status']}: {described.get('error', '')}: {described.get('cause', '')}; "
                             f"see `hubctl executions show {execution}`")
    views.print_budget_run(hub, described)
    return 0

