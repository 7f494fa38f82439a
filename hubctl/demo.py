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


def _model_import(local, hub: Hub, quiet: bool) -> int:
    """Upload a small real model to the research bucket; the upload alone must import it."""
    from hubsim import sample_model
    from hubsim.engine import RESEARCH_ACCOUNT

    console = views.console
    console.print(Rule("Cross-account model import"))
    research = local.deploy_research_spoke()
    manifest = json.loads((ROOT / "events" / "import" / "manifest-support-bot-1.0.0.json").read_text())
    prefix = f"models/{manifest['model_name']}/{manifest['version']}"
    drop = sample_model.files()
    s3 = local.account_session(RESEARCH_ACCOUNT).client("s3")
    sample_model.upload(s3, research["ArtifactBucketName"], prefix, drop, manifest)
    console.print(f"Research account {RESEARCH_ACCOUNT} uploaded s3://{research['ArtifactBucketName']}/{prefix}/: "
                  f"{', '.join(drop)} and import.json (last)")
    with console.status("Waiting for the import (checks, grants, Bedrock job, growing polls)..."):
        local.wait_for_executions(timeout=180)
    for execution in views.list_executions(hub):
        if execution["workflow"] == "ModelImport" and not quiet:
            views.print_execution(hub, execution["executionArn"])
    versions = views.model_versions(hub, manifest["model_name"])
    status = versions[0]["status"] if versions else "missing"
    ok = status == "IMPORTED"
    console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  "
                  f"{manifest['model_name']} {manifest['version']}: {status} {versions[0].get('imported_model_arn', '') if versions else ''}")
    if quiet:
        views.print_models(hub)
    else:
        views.print_model(hub, manifest["model_name"])
    return 0 if ok else 1


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
