"""The happy path of every workflow, as a repeatable load on the local engine.

One source of truth for "a normal run" of each workflow: the benchmark (`hubctl bench`) times
them, and the transition budget test (tests/test_transition_budgets.py) counts their states. Each
workload prepares what its runs need (spokes, tenants, research drops) outside the measurement,
then hands out one trigger per run; a trigger does what starts the workflow in production (an
event on the bus, an upload, a StartExecution by hubctl or the schedule).
"""
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from hubsim import sample_model
from hubsim.seed import seed_tenants

Trigger = Callable[[], None]

# The evaluation answers the sample model gives (every reference answered, fast): the strict
# policy then promotes without a person, so the run is the gate's happy path end to end.
_DATASET = "datasets/support-qa-v1.jsonl"


@dataclass
class Workload:
    name: str
    machines: tuple[str, ...]  # stack outputs of the state machines a run goes through, in order
    prepare: Callable  # (hub, count, tag) -> list[Trigger]


def onboarding_details(hub, count: int, tag: str) -> list[dict]:
    """`count` onboarding requests (tenants `<tag>-tenant-00000`...) spread over one spoke account per
    25 tenants (at most four, at least one), each spoke deployed once."""
    base = json.loads((hub.root / "events/onboarding/acme-retail-us.json").read_text())["detail"]
    accounts = [f"71{tag_number(tag):04d}{k:06d}" for k in range(min(4, max(1, count // 25)))]
    for account in accounts:
        if account not in hub.spokes:
            hub.deploy_tenant_spoke(account, base["spoke"]["external_id"])
    details = []
    for n in range(count):
        detail = json.loads(json.dumps(base))
        detail["tenant_id"] = f"{tag}-tenant-{n:05d}"
        detail["spoke"]["account_id"] = accounts[n % len(accounts)]
        details.append(detail)
    return details


def _onboarding(hub, count: int, tag: str) -> list[Trigger]:
    return [lambda d=detail: hub.put_event("TenantOnboardingRequested", d) for detail in onboarding_details(hub, count, tag)]


def _model_import(hub, count: int, tag: str) -> list[Trigger]:
    from hubsim.patches import bedrock as bedrock_emulation

    from hubsim.engine import RESEARCH_ACCOUNT

    if not hub.research:
        hub.deploy_research_spoke()
        bedrock_emulation.reset_import_outcomes()
    s3 = hub.account_session(RESEARCH_ACCOUNT).client("s3")
    bucket = hub.research["ArtifactBucketName"]
    dataset = [json.loads(line) for line in (hub.root / _DATASET).read_text().splitlines() if line.strip()]
    answers = json.dumps({"answers": {row["prompt"]: row["reference"] for row in dataset}, "latency_ms": 240}).encode()
    drop = {**sample_model.files(), "hubsim-answers.json": answers}
    triggers = []
    for n in range(count):
        name, version = f"{tag}-model-{n:04d}", "1.0.0"
        manifest = sample_model.manifest(name, version, evaluation_policy="strict-support")
        triggers.append(lambda name=name, version=version, manifest=manifest:
                        sample_model.upload(s3, bucket, f"models/{name}/{version}", drop, manifest))
    return triggers


def _retirement(hub, count: int, tag: str) -> list[Trigger]:
    tenants = seed_tenants(hub, count, prefix=f"{tag}-ret")
    sfn, arn = hub.client("stepfunctions"), hub.outputs["RetirementStateMachineArn"]
    request = {"model": "amazon.nova-pro-v1", "version": "0", "grace": "PT1S", "successor": None,
               "reason": "benchmark", "requested_by": "bench@example.com"}
    return [lambda t=t: sfn.start_execution(stateMachineArn=arn, input=json.dumps({**request, "tenants": [t]}))
            for t in tenants]


def _budget_alerts(hub, count: int, tag: str) -> list[Trigger]:
    tenants = seed_tenants(hub, count, prefix=f"{tag}-bud")
    sfn, arn = hub.client("stepfunctions"), hub.outputs["BudgetAlertsStateMachineArn"]
    as_of = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return [lambda t=t: sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"as_of": as_of, "tenants": [t], "requested_by": "bench@example.com"})) for t in tenants]


def _offboarding(hub, count: int, tag: str) -> list[Trigger]:
    tenants = seed_tenants(hub, count, prefix=f"{tag}-off")
    return [lambda t=t: hub.put_event("TenantOffboardingRequested", {"tenant_id": t, "reason": "benchmark",
                                                                      "requested_by": "bench@example.com"}) for t in tenants]


def _tenant_update(hub, count: int, tag: str) -> list[Trigger]:
    tenants = seed_tenants(hub, count, prefix=f"{tag}-upd")
    return [lambda t=t: hub.put_event("TenantUpdateRequested", {"tenant_id": t, "budget": {"monthly_limit_usd": 200},
                                                                 "cost_center": "CC-2", "requested_by": "bench@example.com"})
            for t in tenants]


def tag_number(tag: str) -> int:
    """A small stable number for a tag (spoke account ids of different batches must differ)."""
    return sum(ord(c) * (i + 1) for i, c in enumerate(tag)) % 10_000


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("onboarding", ("OnboardingStateMachineArn",), _onboarding),
    Workload("model-import", ("ModelImportStateMachineArn", "EvaluationStateMachineArn"), _model_import),
    Workload("retirement", ("RetirementStateMachineArn",), _retirement),
    Workload("budget-alerts", ("BudgetAlertsStateMachineArn",), _budget_alerts),
    Workload("offboarding", ("OffboardingStateMachineArn",), _offboarding),
    Workload("tenant-update", ("TenantUpdateStateMachineArn",), _tenant_update),
)}
