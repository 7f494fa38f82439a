"""`hubctl demo`: the whole hub on the embedded emulation, in one process, with expected outcomes.

Deploys template.yaml, deploys the tenant spokes of the sample events, sends every sample of
events/onboarding/ (and one of them three times, as EventBridge may), then shows each execution's
states and outcome and the tenants. Then the research account uploads a small real model to its
bucket, and that upload alone imports it. Last, the audit trail and its verification. Exits
non-zero when an outcome differs from the expected one.
"""
import json
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
