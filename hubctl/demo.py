"""`hubctl demo`: the whole hub on the embedded emulation, in one process, with expected outcomes.

Deploys template.yaml, deploys the tenant spokes of the sample events, sends every sample of
events/onboarding/ (and one of them three times, as EventBridge may), then shows each execution's
states and outcome and the tenants. Then the research account uploads a small real model to its
bucket, and that upload alone imports it. Then that model is retired, for one tenant and then for
all (a dry run first, and a retirement cancelled on the way). Last, the audit trail and its
verification. Exits non-zero when an outcome differs from the expected one.
"""
import json
import shlex
import time
import warnings
from pathlib import Path

from rich.rule import Rule

from hubctl import views
from hubctl.stack import Hub

ROOT = Path(__file__).resolve().parent.parent
DUPLICATED = "acme-retail-us.json"  # delivered three times: one onboarding, two ignored duplicates


def load_samples(folder: Path) -> list[tuple[str, dict]]:
    return [(p.name, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def _outcome(hub: Hub, sample: dict, executions: list[dict]) -> tuple[bool, str]:
    """Does the registry / execution match what the sample expects?"""
    expect = sample.get("expect", {})
    tenant_id = sample["detail"].get("tenant_id")
    if expect.get("rejected"):
        rejected = [e for e in executions if e["status"] == "FAILED" and e.get("error") == "InputRejected"]
        if not rejected:
            return False, "expected a rejection, got none"
        steps = views.execution_steps(hub, rejected[0]["executionArn"])
        return True, f"rejected ({expect.get('field')}), {len(steps)} states"
    meta = views.tenant_items(hub, tenant_id).get("META", {})
    got = meta.get("status")
    if got != expect.get("status"):
        return False, f"tenant status {got}, expected {expect.get('status')}"
    if "error" in expect and meta.get("failure_error") != expect["error"]:
        return False, f"failure {meta.get('failure_error')}, expected {expect['error']}"
    if got == "FAILED" and any(e.get("error") == "CompensationFailed" for e in executions):
        return False, "a compensation failed: resources may remain"
    return True, f"tenant {got}" + (f" ({meta.get('failure_error')})" if got == "FAILED" else "")


def _dataset_answers(good: bool) -> bytes:
    """A script for the emulated model: the dataset's references (passes) or refusals (fails)."""
    rows = [json.loads(line) for line in (ROOT / "datasets" / "support-qa-v1.jsonl").read_text().splitlines() if line.strip()]
    if good:
        return json.dumps({"answers": {r["prompt"]: r["reference"] for r in rows}, "latency_ms": 320}).encode()
    return json.dumps({"answers": {}, "default": "I can't help with that request.", "latency_ms": 410}).encode()


def _wait_for_status(local, hub: Hub, model: str, version: str, statuses: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = views.model_versions(hub, model)
        status = next((v["status"] for v in found if v["version"] == version), "missing")
        if status in statuses or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def _model_import(local, hub: Hub, quiet: bool) -> int:
    """Upload two small real models to the research bucket; the uploads alone import and evaluate them."""
    from hubsim import sample_model
    from hubsim.engine import RESEARCH_ACCOUNT

    console = views.console
    console.print(Rule("Cross-account model import and evaluation gate"))
    research = local.deploy_research_spoke()
    manifest = json.loads((ROOT / "events" / "import" / "manifest-support-bot-1.0.0.json").read_text())
    failing = sample_model.manifest("claims-triage", "0.9.0", tenants=["acme-retail"])
    s3 = local.account_session(RESEARCH_ACCOUNT).client("s3")
    for doc, good in ((manifest, True), (failing, False)):
        prefix = f"models/{doc['model_name']}/{doc['version']}"
        drop = {**sample_model.files(), "hubsim-answers.json": _dataset_answers(good)}
        sample_model.upload(s3, research["ArtifactBucketName"], prefix, drop, doc)
        console.print(f"Research account {RESEARCH_ACCOUNT} uploaded s3://{research['ArtifactBucketName']}/{prefix}/: "
                      f"{', '.join(drop)} and import.json (last)")
    expected = {manifest["model_name"]: "AWAITING_APPROVAL", failing["model_name"]: "REJECTED"}
    results = {}
    with console.status("Importing (checks, grants, Bedrock job) and evaluating (dataset, metrics, gate)..."):
        for doc in (manifest, failing):
            results[doc["model_name"]] = _wait_for_status(local, hub, doc["model_name"], doc["version"],
                                                          {"AWAITING_APPROVAL", "APPROVED", "REJECTED", "FAILED"})
    failures = 0
    for name, status in results.items():
        ok = status == expected[name]
        failures += not ok
        console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  {name}: {status} (expected {expected[name]})")
    for doc in (manifest, failing):
        views.print_evaluation(hub, doc["model_name"], doc["version"])

    console.print(f"An approver approves {manifest['model_name']} {manifest['version']} (hubctl approve):")
    from hubctl.cli import main as hubctl

    hubctl(["approve", manifest["model_name"], manifest["version"], "--approver", "ml-governance-lead@example.com"])
    status = _wait_for_status(local, hub, manifest["model_name"], manifest["version"], {"APPROVED", "REJECTED"}, timeout=60)
    local.wait_for_executions(timeout=60)
    ok = status == "APPROVED"
    failures += not ok
    console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  {manifest['model_name']}: {status}")
    from genai_hub import audit

    promotions = [r for r in audit.read_stream(f"model#{manifest['model_name']}", table=hub.output("AuditTableName"))
                  if r["action"] == "PromoteVersion"]
    skipped = {s["tenant_id"]: s["reason"] for s in json.loads(promotions[-1]["detail"])["skipped"]} if promotions else {}
    for tenant_id in manifest["requested_tenants"]:
        grants = [k for k in views.tenant_items(hub, tenant_id) if k == f"GRANT#{manifest['model_name']}:{manifest['version']}"]
        console.print(f"  grant of {manifest['model_name']}:{manifest['version']} to {tenant_id}: "
                      f"{'yes' if grants else 'no: ' + skipped.get(tenant_id, 'not granted')}")
    if not quiet:
        for execution in views.list_executions(hub):
            if execution["workflow"] in ("ModelImport", "Evaluation"):
                views.print_execution(hub, execution["executionArn"])
        views.print_model(hub, manifest["model_name"])
    views.print_models(hub)
    return failures


RETIREMENT_EVENTS = ["ModelRetirementScheduled", "ModelRetirementCancelled", "ModelRetired"]


def _subscribe(local, hub: Hub, detail_types: list[str]):
    """A queue on the hub bus for `detail_types`, as a tenant's subscriber would have; returns drain()."""
    sqs, events = local.client("sqs"), local.client("events")
    queue_url = sqs.create_queue(QueueName="demo-retirement-notices")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = hub.output("EventBusName")
    events.put_rule(Name="demo-retirement-notices", EventBusName=bus,
                    EventPattern=json.dumps({"source": ["genai.hub"], "detail-type": detail_types}))
    events.put_targets(Rule="demo-retirement-notices", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])

    received: list[dict] = []

    def drain(detail_type: str, model_id: str) -> list[dict]:
        """Every event of `detail_type` about `model_id` received so far (the queue is emptied each time)."""
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [e["detail"] for e in received if e["detail-type"] == detail_type and e["detail"]["model_id"] == model_id]

    return drain


def _model_retirement(local, hub: Hub, quiet: bool) -> int:
    """Retire support-bot 1.0.0 for globex-support, then (dry run first) for all; cancel a foundation
    model's retirement on the way. Every step goes through `hubctl retire`, as an admin's would."""
    from hubctl.cli import main as hubctl

    console = views.console
    console.print(Rule("Model retirement"))
    drain = _subscribe(local, hub, RETIREMENT_EVENTS)
    sfn, machine = local.client("stepfunctions"), hub.output("RetirementStateMachineArn")
    model, version = "support-bot", "1.0.0"
    model_id = f"{model}:{version}"
    failures = 0

    def expect(ok: bool, text: str) -> None:
        nonlocal failures
        failures += not ok
        console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  {text}")

    def cli(*argv: str) -> int:
        if quiet:
            with console.capture():
                return hubctl(list(argv))
        console.print(f"[dim]$ hubctl {shlex.join(argv)}[/dim]")
        return hubctl(list(argv))

    def latest_execution() -> dict:
        return sfn.describe_execution(executionArn=local.executions(machine)[-1]["executionArn"])

    def wait_for_end(execution_arn: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        with console.status("waiting for the retirement date, then the revocation..."):
            while (d := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.2)
        return d

    def grant(tenant_id: str, of: str = model_id) -> dict | None:
        return views.tenant_items(hub, tenant_id).get(f"GRANT#{of}")

    def version_status() -> str:
        return next((v["status"] for v in views.model_versions(hub, model) if v["version"] == version), "missing")

    imported_arn = next(v["imported_model_arn"] for v in views.model_versions(hub, model) if v["version"] == version)
    holders = sorted(t for t in ("acme-retail", "globex-support") if grant(t))
    expect(holders == ["acme-retail", "globex-support"], f"{model_id} is held by {', '.join(holders) or 'nobody'}")

    # 1. For one tenant: a notice now, the revocation after the grace period (3 s here, P30D by default).
    console.print(f"Globex moves its support desk to Nova Lite: retire {model_id} for globex-support, grace PT3S")
    code = cli("retire", model, version, "--tenants", "globex-support", "--grace", "PT3S", "--successor", "amazon.nova-lite-v1:0",
               "--reason", "Globex moves its support desk to Nova Lite", "--requested-by", "platform-admin@example.com")
    one = latest_execution()
    marked = grant("globex-support") or {}
    notices = [e["tenant_id"] for e in drain("ModelRetirementScheduled", model_id)]
    expect(code == 0 and marked.get("status") == "RETIRING" and notices == ["globex-support"],
           f"scheduled: globex-support notified ({', '.join(notices) or 'no notice'}), its grant {marked.get('status')} "
           f"until {marked.get('retire_at')}")
    if not quiet:
        views.print_tenant(hub, "globex-support")
    # Meanwhile, a retirement cancelled before its date: everything stays as it was.
    nova = "amazon.nova-pro-v1:0"
    console.print(f"Retire {nova} for acme-retail in 7 days, then cancel it (hubctl retire --cancel)")
    profile_before = views.tenant_items(hub, "acme-retail").get(f"PROFILE#{nova}", {}).get("profile_arn")
    code = cli("retire", nova, "--tenants", "acme-retail", "--grace", "P7D", "--successor", "amazon.nova-premier-v1:0",
               "--reason", "ACME moves to Nova Premier", "--requested-by", "platform-admin@example.com")
    scheduled = (grant("acme-retail", nova) or {}).get("status")
    cancelled = cli("retire", nova, "--cancel", "--reason", "ACME extended its contract", "--requested-by", "platform-admin@example.com")
    restored = grant("acme-retail", nova) or {}
    profiles = [p["inferenceProfileArn"] for p in local.client("bedrock").list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]]
    records = views.retirement_records(hub, nova)
    told = [e["tenant_id"] for e in drain("ModelRetirementCancelled", nova)]
    expect(code == 0 and scheduled == "RETIRING" and cancelled == 0 and restored.get("status") == "ACTIVE"
           and restored.get("retire_at") is None and profile_before in profiles and records and records[-1]["status"] == "CANCELLED"
           and told == ["acme-retail"],
           f"cancelled: acme-retail's {nova} grant {scheduled} -> {restored.get('status')}, its profile kept, "
           f"ModelRetirementCancelled to {', '.join(told) or 'nobody'}")
    if not quiet:
        views.print_tenant(hub, "acme-retail")

    one = wait_for_end(one["executionArn"])
    acme = grant("acme-retail") or {}
    retired = [e["status"] for e in drain("ModelRetired", model_id)]
    expect(one["status"] == "SUCCEEDED" and grant("globex-support") is None and acme.get("status", "ACTIVE") == "ACTIVE"
           and retired == ["RETIRED_FOR_SCOPE"] and version_status() == "APPROVED",
           f"after the date: globex-support's grant {'gone' if grant('globex-support') is None else 'still there'}, "
           f"acme-retail keeps {model_id}, the version stays {version_status()}; ModelRetired {', '.join(retired)}")
    if not quiet:
        views.print_tenant(hub, "globex-support")

    # 2. For all: a dry run first, then the real one.
    console.print(f"Retire {model_id} for all tenants (successor support-bot:2.0.0): a dry run first")
    reason = "support-bot 2.0.0 answers billing questions better; 1.0.0 reaches end of life"
    code = cli("retire", model, version, "--tenants", "all", "--grace", "PT3S", "--successor", "support-bot:2.0.0",
               "--reason", reason, "--requested-by", "platform-admin@example.com", "--dry-run")
    impact = json.loads(latest_execution().get("output") or "{}")
    unchanged = version_status() == "APPROVED" and (grant("acme-retail") or {}).get("status", "ACTIVE") == "ACTIVE"
    expect(code == 0 and impact.get("tenants") == ["acme-retail"] and impact.get("would_delete_imported_model") is True and unchanged,
           f"dry run: would revoke {impact.get('tenants')}, delete the imported model: {impact.get('would_delete_imported_model')}; "
           f"nothing changed: {unchanged}")
    code = cli("retire", model, version, "--tenants", "all", "--grace", "PT3S", "--successor", "support-bot:2.0.0",
               "--reason", reason, "--requested-by", "platform-admin@example.com")
    every = latest_execution()
    notices = [e["tenant_id"] for e in drain("ModelRetirementScheduled", model_id)]
    expect(code == 0 and version_status() == "RETIRING" and notices == ["globex-support", "acme-retail"],
           f"scheduled for all: {', '.join(notices[1:]) or 'nobody'} notified, the version {version_status()}")

    # Meanwhile, the first request again (EventBridge may deliver twice, an admin may retry).
    code = cli("retire", model_id, "--tenants", "globex-support", "--grace", "PT3S", "--reason", "sent twice",
               "--requested-by", "platform-admin@example.com")
    again = latest_execution()
    expect(code == 0 and "AlreadyRetired" in (again.get("output") or ""), "the same request again: nothing to do (AlreadyRetired)")

    # 3. The retirement for all completes: the last holder revoked, the imported model deleted.
    every = wait_for_end(every["executionArn"])
    retired = json.loads(every.get("output") or "{}").get("retired", {})
    left = {m["modelArn"]: m["modelName"] for m in local.client("bedrock").list_imported_models()["modelSummaries"]}
    acme_account = views.tenant_items(hub, "acme-retail")["META"]["spoke_account_id"]
    role_policies = local.client("iam", account_id=acme_account).list_role_policies(
        RoleName="genai-hub-acme-retail-invoke")["PolicyNames"]
    events = drain("ModelRetired", model_id)
    expect(every["status"] == "SUCCEEDED" and grant("acme-retail") is None and version_status() == "RETIRED"
           and imported_arn not in left and "genai-hub-imported-models" not in role_policies
           and retired.get("imported_model_deleted") is True and [e["status"] for e in events] == ["RETIRED_FOR_SCOPE", "RETIRED"],
           f"after the date: acme-retail revoked (its spoke role's imported-model policy gone), {model_id} {version_status()}, "
           f"the imported model {'deleted' if imported_arn not in left else 'still'} in Bedrock (list_imported_models: "
           f"{', '.join(left.values()) or 'none'}); ModelRetired {events[-1]['status'] if events else 'not sent'}")
    if not quiet:
        views.print_execution(hub, every["executionArn"])
        views.print_model(hub, model)
        views.print_retirements(views.all_retirements(hub))
    return failures


def run(quiet: bool = False) -> int:
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore")
    console = views.console
    started = time.perf_counter()
    console.print(Rule("GenAI Hub demo: embedded AWS emulation (no account, no Docker)"))
    with console.status("Deploying template.yaml (SAM translate -> CloudFormation on moto)..."):
        local = LocalHub().start()
    try:
        hub = Hub(session=__import__("boto3").session.Session(region_name=local.region), endpoint_url=None, outputs=local.outputs)
        console.print(f"Deployed stack [bold]{local.stack_name}[/bold] in {time.perf_counter() - started:.1f}s: "
                      f"{', '.join(f'{k}' for k in local.outputs)}")
        samples = load_samples(ROOT / "events" / "onboarding")
        for name, sample in samples:
            spoke = sample["detail"].get("spoke")
            if isinstance(spoke, dict) and spoke.get("account_id") not in local.spokes:
                local.deploy_tenant_spoke(spoke["account_id"], sample.get("spoke_external_id", spoke["external_id"]))
        console.print(f"Deployed spokes/tenant.yaml into accounts {', '.join(sorted(local.spokes))}")

        console.print(Rule("Onboarding requests"))
        sent = time.perf_counter()
        for name, sample in samples:
            deliveries = 3 if name == DUPLICATED else 1
            for _ in range(deliveries):
                local.put_event(sample["detail-type"], sample["detail"])
            console.print(f"  sent {name}" + (f" x{deliveries} (duplicate deliveries)" if deliveries > 1 else ""))
        with console.status("Waiting for the executions..."):
            local.wait_for_executions(timeout=180)
        console.print(f"All executions finished in {time.perf_counter() - sent:.1f}s")

        sfn = local.client("stepfunctions")
        executions = []
        for e in views.list_executions(hub):
            d = sfn.describe_execution(executionArn=e["executionArn"])
            d["tenant_id"] = json.loads(d["input"]).get("detail", {}).get("tenant_id")
            executions.append(d)

        console.print(Rule("Executions"))
        for d in executions:
            if not quiet:
                console.print(f"[bold]{d['tenant_id']}[/bold]")
                views.print_execution(hub, d["executionArn"])

        console.print(Rule("Outcomes"))
        failures = 0
        for name, sample in samples:
            mine = [d for d in executions if d["tenant_id"] == sample["detail"].get("tenant_id")]
            ok, text = _outcome(hub, sample, mine)
            if name == DUPLICATED:
                ran = [d for d in mine if any(s["state"] == "Register tenant" for s in views.execution_steps(hub, d["executionArn"]))]
                if len(ran) != 1:
                    ok, text = False, f"{len(ran)} onboardings ran for 3 deliveries, expected 1"
                else:
                    text += f"; 3 deliveries -> 1 onboarding, {len(mine) - 1} duplicates ignored"
            failures += not ok
            console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  {name}: {text}")

        console.print(Rule("Registry"))
        views.print_tenants(hub)
        if not quiet:
            views.print_tenant(hub, "acme-retail")

        failures += _model_import(local, hub, quiet)
        failures += _model_retirement(local, hub, quiet)
        console.print(Rule("Audit trail"))
        if not quiet:
            views.print_audit(hub)
        problems = views.verify_audit(hub)
        failures += len(problems)
        console.print(Rule())
        verdict = "[green]demo passed[/green]" if not failures else f"[red]demo failed: {failures} unexpected outcome(s)[/red]"
        console.print(f"{verdict} in {time.perf_counter() - started:.1f}s")
        return 0 if not failures else 1
    finally:
        local.stop()
