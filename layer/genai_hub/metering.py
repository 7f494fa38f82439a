"""Usage metering and budget levels: the steps of statemachines/budget_alerts.asl.json.

Attribution: a tenant reaches models only through its application inference profiles, and
Bedrock publishes `AWS/Bedrock` metrics per profile with the dimension ModelId = the profile's
**id** (the last part of its ARN), even when the caller passed the ARN: what recorded data of live
accounts shows (Cloud Custodian's bedrock inference-profile metrics and their recorded CloudWatch
answers) and AWS's samples query. So a profile's invocations and tokens are its tenant's usage,
priced with genai_hub.pricing.

Exactly once: each tenant carries a watermark, `metered_until` on its META item. A run reads the
window [watermark, until) only, adds its cost to the month's usage item and moves the watermark in
one DynamoDB transaction whose condition is the old watermark. A second run for the same moment
(a duplicate schedule tick, a retried batch) finds the watermark moved and adds nothing.

Registry items: `TENANT#<id>` / `USAGE#<YYYY-MM>` (kind usage; on the ByModel index under
`USAGE#<YYYY-MM>` so a month's tenants are one query) holds month-to-date, spend per day, usage per
model and the latest assessment; `HUB` / `USAGE#<YYYY-MM>` the same for the hub as a whole, and
`HUB` / `META` the hub's level. A tenant's level in force is `budget_level` on its META item.

Acting on a level change (apply_level_change) claims the change on the META item first, so two
runs never act twice; a claim left unfinished by a crash is taken over after CLAIM_STALE_SECONDS.
"""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from genai_hub import access, attribution, audit, aws, budget, config, pricing, registry, rejections, schemas
from genai_hub.budget import Policy
from genai_hub.errors import InvalidInput, TenantNotFound, caught, rejected_field
from genai_hub.idempotency import idempotent_step
from genai_hub.observability import METRICS_NAMESPACE, SERVICE, logger

WORKFLOW = "budget-alerts"
DETAIL_TYPE = "BudgetRunRequested"
HUB_PK, HUB_STREAM = "HUB", "hub#budget"
METRICS = (("invocations", "Invocations"), ("input_tokens", "InputTokenCount"), ("output_tokens", "OutputTokenCount"))
METERED_STATUSES = ("ACTIVE", "SUSPENDED")
CLAIM_STALE_SECONDS = 900
_FUTURE_SLACK = timedelta(minutes=5)
_QUERIES_PER_CALL = 500  # GetMetricData's limit
_ZERO = Decimal(0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _usd(value) -> str:
    return str(Decimal(value).quantize(pricing.CENT_FRACTION))


def usage_key(tenant_id: str, month: str) -> dict:
    return {"pk": registry.tenant_pk(tenant_id), "sk": f"USAGE#{month}"}


def month_usage(month: str) -> list[dict]:
    """Every tenant's usage item of a month (one query on the index)."""
    return registry.index_items(f"USAGE#{month}")


def _policy(limit, thresholds: dict) -> Policy:
    """Level rules: a limit and thresholds, the rest (hysteresis, rise, forecast window) from config."""
    rules, thresholds = config.budget_rules(), {**config.default_budget_thresholds(), **thresholds}
    return Policy(limit=Decimal(str(limit)), yellow=Decimal(str(thresholds["yellow"])), orange=Decimal(str(thresholds["orange"])),
                  hysteresis=Decimal(rules["hysteresis"]), rise_days=int(rules["rise_days"]),
                  rise_step=Decimal(rules["rise_step"]), forecast_days=int(rules["forecast_days"]))


def tenant_policy(tenant: dict) -> Policy:
    """A tenant's limit and thresholds are set at onboarding."""
    return _policy(tenant["budget"]["monthly_limit_usd"], tenant["budget"].get("thresholds", {}))


def hub_policy() -> Policy:
    return _policy(config.hub_monthly_budget_usd(), {})


# --- plan -----------------------------------------------------------------------------------

def validate_request(request, started: str) -> tuple[dict, datetime]:
    """The run request checked against its schema, and the moment to meter up to."""
    request = schemas.validate_detail(DETAIL_TYPE, request)
    now = _parse(started)
    as_of = _parse(request["as_of"]) if "as_of" in request else now
    if as_of > now + _FUTURE_SLACK:
        raise InvalidInput(f"$.as_of: {request['as_of']} is in the future; usage can only be metered up to now", field="$.as_of")
    return request, as_of


def plan_budget_run(step: dict) -> dict:
    """Which tenants to meter, in batches, and the window end shared by all of them; Bedrock's invocation
    logging made sure of first (imported models are metered from its logs: genai_hub.attribution)."""
    request, as_of = validate_request(step.get("request"), step["context"]["started"])
    attribution.ensure_logging(step["context"]["execution"], request["requested_by"])
    until = budget.aligned(as_of - timedelta(seconds=config.metering_lag_seconds()), config.metering_period_seconds())
    known = [t["tenant_id"] for t in registry.index_items(registry.TENANTS_KEY)]
    if "tenants" in request:
        for index, tenant_id in enumerate(request["tenants"]):
            if tenant_id not in known:
                raise InvalidInput(f"$.tenants[{index}]: no tenant {tenant_id!r} in the registry", field=f"$.tenants[{index}]")
        known = request["tenants"]
    size = config.budget_batch_size()
    return {"as_of": _iso(as_of), "until": _iso(until), "month": budget.month_of(until),
            "requested_by": request["requested_by"], "tenants": len(known),
            "batches": [known[i:i + size] for i in range(0, len(known), size)]}


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a rejected run request and return the WorkflowInputRejected detail."""
    request, execution = step.get("request"), step["context"]["execution"]
    name, message = caught(step["error"])
    field = rejected_field(message)
    actor = request.get("requested_by") if isinstance(request, dict) and isinstance(request.get("requested_by"), str) else "unknown"
    audit.append(f"rejected#{WORKFLOW}", action="RejectInput", outcome="REJECTED", workflow=WORKFLOW, execution=execution,
                 actor=actor[:256], detail={"error": name, "field": field, "reason": message})
    return rejections.workflow_input_rejected(WORKFLOW, {"detail-type": DETAIL_TYPE}, field, message, execution)


@idempotent_step
def record_failure(step: dict) -> dict:
    """Audit a run, or one tenant's level change, that stopped on an error. The watermarks a run
    committed stay and the rest is metered by the next run (nothing counted twice, nothing lost); a
    level change left claimed is taken over by a later run."""
    name, message = caught(step["error"])
    change = step.get("change")
    if change:
        audit.append(audit.tenant_stream(change["tenant_id"]), action="BudgetLevelChangeFailed", outcome="FAILED", workflow=WORKFLOW,
                     execution=step["context"]["execution"],
                     detail={"error": name, "reason": message, "level": change["to"], "previous_level": change["from"]})
    else:
        audit.append(HUB_STREAM, action="BudgetRunFailed", outcome="FAILED", workflow=WORKFLOW,
                     execution=step["context"]["execution"], detail={"error": name, "reason": message})
    return {"error": name}


# --- meter ----------------------------------------------------------------------------------

def _read_usage(region: str, profiles: list[dict], start: datetime, end: datetime) -> dict[str, pricing.Usage]:
    """Usage per profile ARN over [start, end) in one Region: one period covering the slice, so each
    query returns at most one Sum, and up to 166 profiles per GetMetricData call."""
    cloudwatch = aws.client("cloudwatch", region=region)
    period = int((end - start).total_seconds())
    found: dict[str, dict[str, int]] = {}
    per_call = _QUERIES_PER_CALL // len(METRICS)
    for first in range(0, len(profiles), per_call):
        chunk = profiles[first:first + per_call]
        queries = [
            {"Id": f"p{n}_{field}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/Bedrock", "MetricName": metric,
                           "Dimensions": [{"Name": "ModelId", "Value": metric_model_id(profile["profile_arn"])}]},
                "Period": period, "Stat": "Sum"}}
            for n, profile in enumerate(chunk) for field, metric in METRICS
        ]
        kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                number, field = result["Id"][1:].split("_", 1)
                arn = chunk[int(number)]["profile_arn"]
                found.setdefault(arn, {})
                found[arn][field] = found[arn].get(field, 0) + int(sum(result.get("Values", [])))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return {arn: pricing.Usage(**fields) for arn, fields in found.items()}


def metric_model_id(profile_arn: str) -> str:
    """The ModelId dimension under which Bedrock publishes an application profile's usage: its id."""
    return profile_arn.rsplit("/", 1)[-1]


def _meter_window(profiles: list[dict], start: datetime, end: datetime) -> dict[str, dict[str, pricing.Usage]]:
    """{day: {model_id: usage}} of a tenant's profiles over [start, end), read day slice by day slice."""
    by_region: dict[str, list[dict]] = {}
    for profile in profiles:
        by_region.setdefault(profile["region"], []).append(profile)
    usage: dict[str, dict[str, pricing.Usage]] = {}
    for slice_start, slice_end in budget.day_slices(start, end):
        day = usage.setdefault(slice_start.date().isoformat(), {})
        for region, group in by_region.items():
            models = {p["profile_arn"]: p["model_id"] for p in group}
            for arn, used in _read_usage(region, group, slice_start, slice_end).items():
                day[models[arn]] = day.get(models[arn], pricing.Usage()) + used
    return usage


def _no_usage() -> dict:
    return {"invocations": 0, "input_tokens": 0, "output_tokens": 0, "usd": "0"}


def _add_usage(item: dict, tenant_id: str, month: str, usage: dict[str, dict[str, pricing.Usage]],
               costs: dict[str, dict[str, Decimal]] | None = None) -> dict:
    """The month's usage item with `usage` (only days of `month`) added, each priced by the price table
    unless `costs` gives its USD (imported models: their attributed share, genai_hub.attribution)."""
    item = dict(item) if item else {**usage_key(tenant_id, month), "kind": "usage", "gsi1pk": f"USAGE#{month}",
                                    "gsi1sk": registry.tenant_pk(tenant_id), "tenant_id": tenant_id, "month": month,
                                    "days": {}, "models": {}, "month_to_date_usd": "0", "revision": 0}
    days, models = dict(item["days"]), {k: dict(v) for k, v in item["models"].items()}
    # Per day and model too: the daily FOCUS export (genai_hub.usage_export) reads it.
    day_models = {d: {m: dict(t) for m, t in per.items()} for d, per in (item.get("day_models") or {}).items()}
    for day, per_model in usage.items():
        if not day.startswith(month):
            continue
        for model_id, used in per_model.items():
            spent = (costs or {}).get(day, {}).get(model_id)
            spent = pricing.cost(model_id, used) if spent is None else spent.quantize(pricing.CENT_FRACTION)
            days[day] = _usd(Decimal(days.get(day, "0")) + spent)
            for totals in (models.setdefault(model_id, _no_usage()), day_models.setdefault(day, {}).setdefault(model_id, _no_usage())):
                totals.update(invocations=int(totals["invocations"]) + used.invocations,
                              input_tokens=int(totals["input_tokens"]) + used.input_tokens,
                              output_tokens=int(totals["output_tokens"]) + used.output_tokens,
                              usd=_usd(Decimal(totals["usd"]) + spent))
        days.setdefault(day, _usd(_ZERO))  # a metered day without use is booked too
    item.update(days=days, models=models, day_models=day_models,
                month_to_date_usd=_usd(sum((Decimal(v) for v in days.values()), _ZERO)))
    return item


def _assessment_fields(assessment: budget.Assessment, policy: Policy, until: datetime) -> dict:
    return {"level": assessment.level, "forecast_usd": _usd(assessment.forecast), "limit_usd": _usd(policy.limit),
            "sustained_rise": assessment.sustained_rise, "reasons": list(assessment.reasons), "assessed_at": _iso(until)}


def _last_second(month: str) -> datetime:
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=timezone.utc)
    return first + timedelta(days=budget.days_in_month(first), seconds=-1)


def _commit(tenant: dict, until: datetime, items: list[dict]) -> bool:
    """Move the watermark and write the month items in one transaction; False if another run did."""
    previous = tenant.get("metered_until")
    watermark = {
        "Update": {
            "TableName": config.registry_table(),
            "Key": registry.to_item({"pk": registry.tenant_pk(tenant["tenant_id"]), "sk": "META"}),
            "UpdateExpression": "SET metered_until = :until",
            "ConditionExpression": "metered_until = :previous" if previous else "attribute_not_exists(metered_until)",
            "ExpressionAttributeValues": registry.to_item({":until": _iso(until), **({":previous": previous} if previous else {})}),
        }
    }
    puts = []
    for item in items:
        revision = item["revision"]
        puts.append({"Put": {
            "TableName": config.registry_table(), "Item": registry.to_item({**item, "revision": revision + 1, "updated_at": registry.now()}),
            "ConditionExpression": "attribute_not_exists(pk) OR revision = :revision",
            "ExpressionAttributeValues": registry.to_item({":revision": revision}),
        }})
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=[watermark, *puts])
        return True
    except Exception as exc:
        if aws.error_code(exc) in ("TransactionCanceledException", "ConditionalCheckFailedException"):
            return False
        raise


def meter_tenant(tenant: dict, until: datetime) -> dict:
    """Meter one tenant up to `until` (at most once per window), assess its level, and return the
    level change to act on, if any."""
    tenant_id, month = tenant["tenant_id"], budget.month_of(until)
    watermark = tenant.get("metered_until")
    start = _parse(watermark) if watermark else budget.month_start(until)
    policy = tenant_policy(tenant)
    in_force, in_force_month = tenant.get("budget_level", "GREEN"), tenant.get("budget_level_month")
    metered, assessment = False, None
    if start < until:
        usage = _meter_window(registry.tenant_items(tenant_id, "PROFILE#"), start, until)
        costs: dict[str, dict[str, Decimal]] = {}
        for day, per_model in attribution.tenant_usage(tenant_id, start, until).items():  # imported models, from the logs
            for model_id, (used, spent) in per_model.items():
                usage.setdefault(day, {})[model_id] = usage.get(day, {}).get(model_id, pricing.Usage()) + used
                costs.setdefault(day, {})[model_id] = spent
        months = sorted({budget.month_of(s) for s, _ in budget.day_slices(start, until)})
        items = []
        for touched in months:
            item = _add_usage(registry.get_item(usage_key(tenant_id, touched)), tenant_id, touched, usage, costs)
            if touched == month:
                at, held = until, (in_force, in_force_month)
            else:  # a closed month is assessed at its last second: its level is history, kept for reports
                at, held = _last_second(touched), ("GREEN", None)
            assessed = budget.assess(policy, _decimal_days(item), at, *held)
            if touched == month:
                assessment = assessed
            item.update(_assessment_fields(assessed, policy, at), metered_until=_iso(until))
            items.append(item)
        metered = _commit(tenant, until, items)
        if not metered:
            logger.info("window metered by another run", extra={"tenant_id": tenant_id, "until": _iso(until)})
    if not metered or assessment is None:
        # Another run wrote the window, or it ended at the month's first second (nothing of it metered).
        current = registry.get_item(usage_key(tenant_id, month)) or {}
        assessment = budget.assess(policy, _decimal_days(current), until, in_force, in_force_month)
    result = {"tenant_id": tenant_id, "metered": metered, "level": assessment.level,
              "month_to_date_usd": _usd(assessment.month_to_date), "forecast_usd": _usd(assessment.forecast)}
    if assessment.level != in_force or _unfinished(tenant):
        result["change"] = {
            "tenant_id": tenant_id, "from": in_force, "to": assessment.level, "month": month,
            "month_to_date_usd": _usd(assessment.month_to_date), "forecast_usd": _usd(assessment.forecast),
            "monthly_limit_usd": _usd(policy.limit), "reasons": list(assessment.reasons),
            "on_red": tenant["budget"].get("on_red", "suspend"), "as_of": _iso(until),
        }
    return result


def _decimal_days(item: dict) -> dict[str, Decimal]:
    return {day: Decimal(str(value)) for day, value in item.get("days", {}).items()}


def _unfinished(tenant: dict) -> bool:
    """A level change claimed by a run that stopped before finishing it (taken over once stale)."""
    claim = tenant.get("budget_change") or {}
    if not claim or claim.get("done", True):
        return False
    return _parse(claim["claimed_at"]) < datetime.now(timezone.utc) - timedelta(seconds=CLAIM_STALE_SECONDS)


def _publish(values: dict[str, float], dimensions: dict[str, str] | None = None) -> None:
    """Embedded-metric-format lines the dashboard (template.yaml BudgetDashboard) searches by name."""
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
    for name, value in (dimensions or {}).items():
        metrics.add_dimension(name=name, value=value)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count if name.endswith("Level") else MetricUnit.NoUnit, value=value)
    metrics.flush_metrics()


def meter_tenants(step: dict) -> dict:
    """Meter a batch of tenants; return the level changes to act on (and a summary)."""
    until = _parse(step["run"]["until"])
    tenants = registry.get_tenants(step["tenant_ids"])
    results = [meter_tenant(t, until) for tid in step["tenant_ids"]
               if (t := tenants.get(tid)) and t.get("status") in METERED_STATUSES and t.get("budget")]
    for result in results:
        _publish({"MonthToDateUsd": float(result["month_to_date_usd"]), "ForecastUsd": float(result["forecast_usd"]),
                  "BudgetLevel": budget.rank(result["level"])}, {"tenant": result["tenant_id"]})
    return {
        "changes": [r["change"] for r in results if "change" in r],
        "metered": sum(1 for r in results if r["metered"]),
        "skipped": len(step["tenant_ids"]) - len(results),
    }


# --- act --------------------------------------------------------------------------------------

def _claim(tenant_id: str, change: dict, execution: str) -> dict | None:
    """Take the change on the tenant's META item and return the claim; None when another run has it
    or the level moved."""
    stale = _iso(datetime.now(timezone.utc) - timedelta(seconds=CLAIM_STALE_SECONDS))
    claim = {"execution": execution, "from": change["from"], "to": change["to"], "claimed_at": registry.now(), "done": False}
    try:
        registry.update_item(
            {"pk": registry.tenant_pk(tenant_id), "sk": "META"},
            {"budget_level": change["to"], "budget_level_month": change["month"], "budget_change": claim},
            condition="#level = :from AND (attribute_not_exists(#claim) OR #claim.#done = :true OR #claim.#at < :stale)",
            names={"#level": "budget_level", "#claim": "budget_change", "#done": "done", "#at": "claimed_at"},
            values={":from": change["from"], ":true": True, ":stale": stale},
        )
        return claim
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise


def _notify(level: str, previous: str) -> list[str]:
    """YELLOW tells the tenant; ORANGE and RED, and a way down from them, the admins too."""
    if budget.rank(level) >= budget.rank("ORANGE") or budget.rank(previous) >= budget.rank("ORANGE"):
        return ["tenant", "admins"]
    return ["tenant"]


@idempotent_step
def apply_level_change(step: dict) -> dict:
    """Act on one tenant's level change: suspend at RED (unless notify-only), restore below it,
    audit, and return the event to emit. A change another run claimed is left to it."""
    change, execution = step["change"], step["context"]["execution"]
    tenant_id = change["tenant_id"]
    try:
        tenant = registry.get_tenant(tenant_id)
    except TenantNotFound:
        return {"applied": False, "reason": "tenant gone"}
    claim = tenant.get("budget_change") or {}
    mine = claim.get("execution") == execution and claim.get("to") == change["to"] and not claim.get("done", True)
    if not mine:
        claim = _claim(tenant_id, change, execution)
        if claim is None:
            return {"applied": False, "reason": "claimed by another run or superseded"}
    action = "notified"
    if change["to"] == "RED":
        if change["on_red"] == "suspend":
            access.set_suspended(tenant, True)
            action = "suspended"
        else:
            action = "notify-only"
    elif tenant["status"] == "SUSPENDED":
        access.set_suspended(tenant, False)
        action = "restored"
    status = "SUSPENDED" if action == "suspended" else "ACTIVE"
    notify = _notify(change["to"], change["from"])
    event = {
        "tenant_id": tenant_id, "month": change["month"], "previous_level": change["from"], "level": change["to"],
        "month_to_date_usd": change["month_to_date_usd"], "forecast_usd": change["forecast_usd"],
        "monthly_limit_usd": change["monthly_limit_usd"], "reasons": change["reasons"], "action": action,
        "notify": notify, "as_of": change["as_of"], "execution": execution,
    }
    audit.append(audit.tenant_stream(tenant_id), action="BudgetLevelChanged", outcome="SUCCEEDED", workflow=WORKFLOW,
                 execution=execution, actor="genai-hub", once=True,
                 detail={k: event[k] for k in ("month", "previous_level", "level", "month_to_date_usd", "forecast_usd",
                                               "monthly_limit_usd", "reasons", "action", "as_of")})
    registry.update_item(
        {"pk": registry.tenant_pk(tenant_id), "sk": "META"},
        {"status": status, "budget_change": {**claim, "done": True}},
        condition="#claim.#ex = :me", names={"#claim": "budget_change", "#ex": "execution"}, values={":me": execution},
    )
    return {"applied": True, "event": event, "notify_admins": "admins" in notify,
            "subject": f"GenAI Hub budget: {tenant_id} {change['from']} -> {change['to']} ({action})"[:100],
            "message": _message(event)}


def _message(event: dict) -> str:
    lines = [f"{event.get('tenant_id', 'The hub')}: budget level {event['previous_level']} -> {event['level']} "
             f"for {event['month']} (as of {event['as_of']}).",
             f"Month-to-date {event['month_to_date_usd']} USD, forecast {event['forecast_usd']} USD, "
             f"limit {event['monthly_limit_usd']} USD.", *event["reasons"]]
    if event.get("action"):
        lines.append(f"Action: {event['action']}.")
    return "\n".join(lines)


# --- the hub as a whole ---------------------------------------------------------------------------

def _hub_month(policy: Policy, month: str, at: datetime, in_force: str = "GREEN",
               in_force_month: str | None = None) -> tuple[budget.Assessment, int]:
    """Sum every tenant's usage item of `month`, assess it at `at` and write the hub's item."""
    items = month_usage(month)
    days: dict[str, Decimal] = {}
    for item in items:
        for day, value in _decimal_days(item).items():
            days[day] = days.get(day, _ZERO) + value
    assessment = budget.assess(policy, days, at, in_force, in_force_month)
    aws.client("dynamodb").put_item(TableName=config.registry_table(), Item=registry.to_item({
        "pk": HUB_PK, "sk": f"USAGE#{month}", "kind": "hub-usage", "month": month,
        "days": {d: _usd(v) for d, v in sorted(days.items())}, "tenants": len(items),
        "month_to_date_usd": _usd(assessment.month_to_date), **_assessment_fields(assessment, policy, at),
        "updated_at": registry.now(),
    }))
    return assessment, len(items)


def assess_hub(step: dict) -> dict:
    """Sum every tenant's month and assess it against the hub budget: tenants growing together can
    cross it while none alone does. Returns the hub event to emit when the level changed."""
    until, execution = _parse(step["run"]["until"]), step["context"]["execution"]
    month = budget.month_of(until)
    # The first runs of a month still book the end of the last one into tenants' items: close it too.
    policy = hub_policy()
    last_month = budget.month_start(until) - timedelta(seconds=1)
    _hub_month(policy, budget.month_of(last_month), last_month)
    meta = registry.get_item({"pk": HUB_PK, "sk": "META"}) or {}
    in_force = meta.get("budget_level", "GREEN")
    assessment, tenants = _hub_month(policy, month, until, in_force, meta.get("budget_level_month"))
    _publish({"HubMonthToDateUsd": float(assessment.month_to_date), "HubForecastUsd": float(assessment.forecast),
              "HubBudgetLevel": budget.rank(assessment.level)})
    summary = {"changed": False, "level": assessment.level, "month_to_date_usd": _usd(assessment.month_to_date),
               "forecast_usd": _usd(assessment.forecast), "tenants": tenants}
    if assessment.level == in_force:
        return summary
    try:
        aws.client("dynamodb").put_item(
            TableName=config.registry_table(),
            Item=registry.to_item({"pk": HUB_PK, "sk": "META", "kind": "hub", "budget_level": assessment.level,
                                   "budget_level_month": month, "execution": execution, "updated_at": registry.now()}),
            ConditionExpression="attribute_not_exists(pk) OR budget_level = :from",
            ExpressionAttributeValues=registry.to_item({":from": in_force}),
        )
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return summary  # another run recorded this change
        raise
    event = {"month": month, "previous_level": in_force, "level": assessment.level,
             "month_to_date_usd": _usd(assessment.month_to_date), "forecast_usd": _usd(assessment.forecast),
             "monthly_limit_usd": _usd(policy.limit), "reasons": list(assessment.reasons), "tenants": tenants,
             "as_of": _iso(until), "execution": execution}
    audit.append(HUB_STREAM, action="HubBudgetLevelChanged", outcome="SUCCEEDED", workflow=WORKFLOW, execution=execution,
                 detail={k: v for k, v in event.items() if k != "execution"})
    return {**summary, "changed": True, "event": event,
            "subject": f"GenAI Hub budget: hub {in_force} -> {assessment.level}",
            "message": _message({**event, "tenant_id": "The hub"})}
