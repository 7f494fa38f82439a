"""`hubctl demo`: the whole hub on the embedded emulation, in one process, with expected outcomes.

Deploys template.yaml, deploys the tenant spokes of the sample events, sends every sample of
events/onboarding/ (and one of them three times, as EventBridge may), then shows each execution's
states and outcome and the tenants. Then the research account uploads a small real model to its
bucket, and that upload alone imports it. Then that model is retired, for one tenant and then for
all (a dry run first, and a retirement cancelled on the way). Then budget alerts: three more tenants
invoke their application inference profiles with the hub credentials the broker vends them over simulated days of last
month, and a budget run each night moves their levels (one of them to RED, suspended, then back at
the new month). Last, the audit trail and its verification. Exits non-zero when an outcome differs
from the expected one.
"""
import json
import math
import shlex
import time
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from rich.rule import Rule

from hubctl import views
from hubsim.engine import signed_in
from hubctl.stack import Hub

ROOT = Path(__file__).resolve().parent.parent
DUPLICATED = "acme-retail-us.json"  # delivered three times: one onboarding, two ignored duplicates
OFFBOARDED, OFFBOARD_REASON = "globex-support", "support desk moved to another provider"
UPDATED, UPDATE_MODEL, UPDATE_LIMIT = "acme-retail", "anthropic.claude-sonnet-4-20250514-v1:0", "8000"
LEGACY_MODEL, LEGACY_DAYS = "anthropic.claude-3-5-sonnet-20240620-v1:0", 60  # acme-retail holds it
GUARDED_QUESTION = "Which stocks should I buy with my savings this year?"  # a denied topic of the strict guardrail
BUDGET_SECTION = "budget-alerts"
# People, signed in as AWS verifies them (role session names), not names typed on a command line.
SUBMITTER, APPROVER, OPERATOR = "ana.research@example.com", "ml-governance-lead@example.com", "platform-admin@example.com"  # samples with "demo_section": this are onboarded in the budget alerts section


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


def _version_status(hub: Hub, manifest: dict) -> str:
    return next((v["status"] for v in views.model_versions(hub, manifest["model_name"]) if v["version"] == manifest["version"]), "missing")


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
    s3 = local.research_person_session(SUBMITTER).client("s3")  # a scientist signed in to the research account
    for doc, good in ((manifest, True), (failing, False)):
        prefix = f"models/{doc['model_name']}/{doc['version']}"
        drop = {**sample_model.files(), "hubsim-answers.json": _dataset_answers(good)}
        sample_model.upload(s3, research["ArtifactBucketName"], prefix, drop, doc)
        console.print(f"{SUBMITTER} (research account {RESEARCH_ACCOUNT}) uploaded s3://{research['ArtifactBucketName']}/{prefix}/: "
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

    from hubctl.cli import main as hubctl

    # Four-eyes: the scientist who submitted it is an approver too, but not of her own version.
    console.print(f"{SUBMITTER}, who submitted {manifest['model_name']} {manifest['version']}, approves it (hubctl approve):")
    with signed_in(local.decider_credentials(SUBMITTER)):
        refused = hubctl(["approve", manifest["model_name"], manifest["version"]])
    ok = refused == 1 and _version_status(hub, manifest) == "AWAITING_APPROVAL"
    failures += not ok
    console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  refused under four-eyes, audited with her verified ARN")
    console.print(f"A second approver, {APPROVER}, approves it (hubctl approve):")
    with signed_in(local.decider_credentials(APPROVER)):
        hubctl(["approve", manifest["model_name"], manifest["version"]])
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


def _hubctl(argv: list[str], show: bool) -> int:
    """Run a hubctl command in this process, as an admin would type it; its output only when `show`."""
    from hubctl.cli import main as hubctl

    if not show:
        with views.console.capture():
            return hubctl(argv)
    views.console.print(f"[dim]$ hubctl {shlex.join(argv)}[/dim]")
    return hubctl(argv)


RETIREMENT_EVENTS = ["ModelRetirementScheduled", "ModelRetirementCancelled", "ModelRetired"]


def _subscribe(local, hub: Hub, name: str, detail_types: list[str]):
    """A queue `name` on the hub bus for `detail_types`, as a tenant's subscriber would have; returns drain()."""
    sqs, events = local.client("sqs"), local.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = hub.output("EventBusName")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["genai.hub"], "detail-type": detail_types}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])

    received: list[dict] = []

    def drain(detail_type: str, model_id: str | None = None) -> list[dict]:
        """Every event of `detail_type` (about `model_id`, when given) received so far (the queue is emptied each time)."""
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [e["detail"] for e in received
                if e["detail-type"] == detail_type and model_id in (None, e["detail"].get("model_id"))]

    return drain


def _model_retirement(local, hub: Hub, quiet: bool) -> int:
    """Retire support-bot 1.0.0 for globex-support, then (dry run first) for all; cancel a foundation
    model's retirement on the way. Every step goes through `hubctl retire`, as an admin's would."""
    console = views.console
    console.print(Rule("Model retirement"))
    drain = _subscribe(local, hub, "demo-retirement-notices", RETIREMENT_EVENTS)
    sfn, machine = local.client("stepfunctions"), hub.output("RetirementStateMachineArn")
    model, version = "support-bot", "1.0.0"
    model_id = f"{model}:{version}"
    expect = Expect()

    operator = local.decider_credentials(OPERATOR, operator=True)  # retirements are decisions: taken as a verified person

    def cli(*argv: str) -> int:
        with signed_in(operator):
            return _hubctl(list(argv), show=not quiet)

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
    # Each holder's application gets hub credentials from the broker now, and keeps them.
    apps = {t: _tenant_app(local, hub, t) for t in holders}
    answers = {t: _call(apps[t], imported_arn) for t in holders}
    expect(all(code == "" for code in answers.values()),
           f"their applications call the imported model {model_id} with the credentials the broker vended them: "
           + ", ".join(f"{t} {'answered' if code == '' else 'refused: ' + code}" for t, code in answers.items()))

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
    cancelled = cli("retire", nova, "--cancel", "--reason", "ACME extended its contract")
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
    calls = {t: _call(apps[t], imported_arn) for t in holders}
    expect(one["status"] == "SUCCEEDED" and grant("globex-support") is None and acme.get("status", "ACTIVE") == "ACTIVE"
           and retired == ["RETIRED_FOR_SCOPE"] and version_status() == "APPROVED"
           and calls == {"acme-retail": "", "globex-support": "AccessDeniedException"},
           f"after the date: globex-support's grant {'gone' if grant('globex-support') is None else 'still there'} and its "
           f"application refused ({calls.get('globex-support') or 'answered'}) with the credentials it had, "
           f"acme-retail keeps {model_id} ({'answered' if calls.get('acme-retail') == '' else calls.get('acme-retail')}), "
           f"the version stays {version_status()}; ModelRetired {', '.join(retired)}")
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
    acme_call = _call(apps["acme-retail"], imported_arn)
    events = drain("ModelRetired", model_id)
    expect(every["status"] == "SUCCEEDED" and grant("acme-retail") is None and version_status() == "RETIRED"
           and imported_arn not in left and acme_call == "AccessDeniedException"
           and retired.get("imported_model_deleted") is True and [e["status"] for e in events] == ["RETIRED_FOR_SCOPE", "RETIRED"],
           f"after the date: acme-retail revoked (its application refused: {acme_call or 'answered'}), {model_id} {version_status()}, "
           f"the imported model {'deleted' if imported_arn not in left else 'still'} in Bedrock (list_imported_models: "
           f"{', '.join(left.values()) or 'none'}); ModelRetired {events[-1]['status'] if events else 'not sent'}")
    if not quiet:
        views.print_execution(hub, every["executionArn"])
        views.print_model(hub, model)
        views.print_retirements(views.all_retirements(hub))
    return expect.failures


# --- budget alerts ------------------------------------------------------------------------------------

BUDGET_MODEL = "anthropic.claude-sonnet-4-20250514-v1:0"
BUDGET_EVENTS = ["TenantBudgetLevelChanged", "HubBudgetLevelChanged"]
RUNAWAY, SPIKY = "northwind-labs", "contoso-claims"
# What each demo tenant spends (USD) on days 1-9 of last month, checked beforehand with
# genai_hub.budget.assess. northwind-labs (5 USD a month) doubles on day 3 (YELLOW on day 4, once
# the median day has doubled), rises three days running (ORANGE on day 7) and runs away on day 8
# (RED: suspended); on day 9 its calls are refused. contoso-claims (30 USD) spikes once, 6x on day
# 5, and stays GREEN: the forecast takes the median day, not the mean. fabrikam-analytics (40 USD)
# grows slowly and stays GREEN. Together they cross the yellow line of the hub budget (80% of
# HubMonthlyBudgetUsd, 60 USD locally) on day 4 while neither of the other two is past GREEN.
DAILY_USD = {
    RUNAWAY: ["0.10", "0.10", "0.30", "0.30", "0.34", "0.42", "0.55", "3.20", "0.60"],
    SPIKY: ["0.55", "0.50", "0.60", "0.55", "3.00", "0.55", "0.50", "0.60", "0.55"],
    "fabrikam-analytics": ["0.80", "0.85", "0.85", "0.90", "0.95", "0.95", "1.00", "1.00", "1.05"],
}
MAX_WORDS = 50_000  # per prompt: the emulated runtime counts whitespace-separated words as tokens


def _tenant_app(local, hub: Hub, tenant_id: str):
    """The tenant's application as examples/tenant_app.py runs it: its own role in its account asks the
    hub's broker for credentials (a session of the hub's tenant access role, scoped to the tenant)."""
    return local.tenant_session(tenant_id, views.tenant_items(hub, tenant_id)["META"]["spoke_account_id"])


class Expect:
    """Prints each outcome of a demo section as expected or UNEXPECTED, and counts the unexpected ones."""

    def __init__(self):
        self.failures = 0

    def __call__(self, ok: bool, text: str) -> None:
        self.failures += not ok
        views.console.print(f"  {'[green]as expected[/green]' if ok else '[red]UNEXPECTED[/red]'}  {text}")


def _tenant_applications(local, hub: Hub) -> int:
    """Tenants call their models as docs/tenants.md shows: access enforced in the hub account."""
    from hubsim.engine import tenant_app

    console = views.console
    console.print(Rule("Tenant applications (docs/tenants.md)"))
    expect = Expect()

    acme = _tenant_app(local, hub, "acme-retail")
    mine = acme.hub_models["profiles"]
    other = next(iter(views.tenant_items(hub, "globex-support").get(k) for k in views.tenant_items(hub, "globex-support")
                      if k.startswith("PROFILE#")))["profile_arn"]
    answered = {model: _call(acme, arn) for model, arn in mine.items()}
    expect(all(code == "" for code in answered.values()),
           f"acme-retail's application (role genai-hub-tenant-app in its account) got hub credentials from the broker and "
           f"called {', '.join(answered)} through its profiles: {'answered' if all(c == '' for c in answered.values()) else answered}")
    refused = {"another tenant's profile": _call(acme, other), "a bare foundation model id": _call(acme, next(iter(mine))),
               "a system-defined profile": _call(acme, f"us.{next(iter(mine))}")}
    expect(set(refused.values()) == {"AccessDeniedException"},
           "refused as on AWS: " + ", ".join(f"{what} ({code or 'answered'})" for what, code in refused.items()))
    failures = _guardrails(local, hub, acme, next(iter(mine.values())))
    try:
        tenant_app().fetch_credentials(hub.output("TenantCredentialsUrl"), "acme-retail",
                                       local.tenant_app_session(views.tenant_items(hub, "globex-support")["META"]["spoke_account_id"]),
                                       local.endpoint())
        expect(False, "globex-support's application got acme-retail's credentials")
    except tenant_app().AccessRefused as refusal:
        expect(refusal.error == "AccessNotGranted", f"globex-support's application asking for acme-retail's credentials: "
                                                    f"{refusal.status} {refusal.error} (audited with its verified ARN)")
    return expect.failures + failures


def _guardrails(local, hub: Hub, acme, acme_profile: str) -> int:
    """Every call carries the tenant's guardrail (IAM refuses one without it); Bedrock applies it."""
    from hubsim.engine import session_of, tenant_app

    expect = Expect()
    frozen = acme.get_credentials().get_frozen_credentials()
    bare = session_of({"AccessKeyId": frozen.access_key, "SecretAccessKey": frozen.secret_key, "SessionToken": frozen.token},
                      local.region)
    expect(_call(bare, acme_profile) == "AccessDeniedException",
           f"acme-retail's call without its guardrail ({acme.hub_models['Guardrail']['name']}) is refused by IAM "
           "(bedrock:GuardrailIdentifier in the hub's policies)")
    globex = _tenant_app(local, hub, "globex-support")
    profile = next(iter(globex.hub_models["profiles"].values()))
    answer = globex.client("bedrock-runtime").converse(
        modelId=profile, messages=[{"role": "user", "content": [{"text": GUARDED_QUESTION}]}],
        guardrailConfig={**tenant_app().guardrail_config(globex.hub_models), "trace": "enabled"})
    topics = [t["name"] for a in (answer.get("trace", {}).get("guardrail", {}).get("inputAssessment") or {}).values()
              for t in a.get("topicPolicy", {}).get("topics", [])]
    expect(answer.get("stopReason") == "guardrail_intervened",
           f"globex-support ({globex.hub_models['Guardrail']['name']} guardrail) asks {GUARDED_QUESTION!r}: the guardrail "
           f"intervened ({', '.join(topics) or 'no topic'}) and answered {answer['output']['message']['content'][0]['text']!r}")
    return expect.failures


def _imported_usage(local, hub: Hub) -> int:
    """Two tenants call the imported model in one 5-minute window: each budget gets its token share of the
    window's Custom Model Unit cost, read from Bedrock's invocation logs (who called, as AWS verified it)."""
    from hubsim.patches.bedrock_runtime import simulated_now

    console = views.console
    console.print(Rule("Imported-model usage in the tenants' budgets"))
    expect = Expect()
    model_id = "support-bot:1.0.0"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    console.print("A budget run points the account's Bedrock invocation logging at the hub's bucket (token counts, no prompts):")
    first = _hubctl(["budget", "run", "--as-of", f"{now - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}", "--requested-by", "demo",
                     "--wait"], show=False)
    words = {"acme-retail": 300, "globex-support": 100}
    with simulated_now(now - timedelta(minutes=30)):
        for tenant_id, count in words.items():
            app = _tenant_app(local, hub, tenant_id)
            app.client("bedrock-runtime").converse(modelId=app.hub_models["imported_models"][model_id],
                                                   messages=[{"role": "user", "content": [{"text": " ".join(["forecast"] * count)}]}])
    console.print(f"acme-retail and globex-support call {model_id} in the same 5-minute window ({words['acme-retail']} and "
                  f"{words['globex-support']} words); the next budget run reads the invocation logs (hubctl budget run --wait)")
    second = _hubctl(["budget", "run", "--requested-by", "demo", "--wait"], show=False)
    month = f"{now - timedelta(minutes=30):%Y-%m}"
    shares = {t: Decimal(str(((views.tenant_items(hub, t).get(f"USAGE#{month}") or {}).get("models") or {}).get(model_id, {}).get("usd", "0")))
              for t in words}
    from genai_hub import pricing

    window = pricing.custom_model_unit_minute() * 5  # one Custom Model Unit per copy, five minutes
    expect(first == 0 and second == 0 and abs(sum(shares.values()) - window) <= Decimal("0.00001") and shares["acme-retail"] > 2 * shares["globex-support"],
           f"the window's {window:.4f} USD of Custom Model Units shared by tokens: acme-retail {shares['acme-retail']:.4f} USD, "
           f"globex-support {shares['globex-support']:.4f} USD, each in its budget (hubctl usage --tenant ...)")
    return expect.failures


def _model_lifecycle(local, hub: Hub) -> int:
    """AWS moves a foundation model to Legacy: the hub's lifecycle watch retires it for its holders, once."""
    from hubsim.patches import bedrock_models

    console = views.console
    console.print(Rule("Bedrock's model lifecycle"))
    expect = Expect()
    model, now = LEGACY_MODEL, datetime.now(timezone.utc).replace(microsecond=0)
    end = now + timedelta(days=LEGACY_DAYS)
    console.print(f"Amazon Bedrock moves {model} to Legacy, end of life {end:%Y-%m-%d} (ListFoundationModels says so); "
                  "the hub's daily lifecycle watch runs (hubctl models lifecycle --poll):")
    bedrock_models.set_lifecycle(model, "LEGACY", legacy_time=now, end_of_life_time=end)
    code = _hubctl(["models", "lifecycle", "--poll"], show=True)
    scheduled = _wait_for_retirement(hub, model)
    again = _hubctl(["models", "lifecycle", "--poll"], show=False)
    records = views.retirement_records(hub, model)
    expect(code == 0 and again == 0 and scheduled is not None and len(records) == 1
           and scheduled["retire_at"] == end.strftime("%Y-%m-%dT%H:%M:%SZ"),
           f"one retirement of {model} for {', '.join(scheduled['scope']) if scheduled else 'nobody'} at its end of life "
           f"{scheduled['retire_at'] if scheduled else '?'}, successor {scheduled.get('successor') if scheduled else '?'} "
           f"(ModelRetirementScheduled sent); a second poll started none")
    _hubctl(["models", "lifecycle"], show=True)
    # The retirement would wait 60 days: the demo calls it off to end (as an operator may, before the date).
    with signed_in(local.decider_credentials(OPERATOR, operator=True)):
        cancelled = _hubctl(["retire", model, "--cancel", "--reason", "the demo ends before the end of life"], show=False)
    expect(cancelled == 0, f"to end the demo, an operator cancels it (hubctl retire {model} --cancel)")
    return expect.failures


def _wait_for_retirement(hub: Hub, model_id: str, timeout: float = 30) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in views.retirement_records(hub, model_id) if r["status"] == "SCHEDULED"]
        if found:
            return found[0]
        time.sleep(0.1)
    return None


def _tenant_update(local, hub: Hub) -> int:
    """A tenant asks for a new model and a bigger budget: granted through the same rules as onboarding."""
    console = views.console
    console.print(Rule("Tenant update"))
    expect = Expect()
    tenant_id, model = UPDATED, UPDATE_MODEL
    before = views.tenant_items(hub, tenant_id)["META"]["budget"]["monthly_limit_usd"]
    code = _hubctl(["tenants", "update", tenant_id, "--add-model", model, "--monthly-limit", UPDATE_LIMIT, "--reason",
                    "new shopping assistant", "--requested-by", "platform-admin@example.com", "--wait"], show=True)
    items = views.tenant_items(hub, tenant_id)
    profile = items.get(f"PROFILE#{model}", {})
    answered = _call(_tenant_app(local, hub, tenant_id), profile["profile_arn"]) if profile else "no profile"
    expect(code == 0 and f"GRANT#{model}" in items and answered == "",
           f"{tenant_id} got {model} through a new profile in {profile.get('region')} (from {profile.get('source_profile_id')}); "
           f"its application's call: {answered or 'answered'}")
    after = items["META"]["budget"]["monthly_limit_usd"]
    expect(str(after) == UPDATE_LIMIT, f"its budget {before} -> {after} USD a month (the next budget run assesses with it)")
    return expect.failures


def _offboarding(local, hub: Hub) -> int:
    """A tenant leaves: its next call refused, its usage closed, its profiles and grants deleted, its history kept."""
    console = views.console
    console.print(Rule("Tenant offboarding"))
    expect = Expect()
    tenant_id = OFFBOARDED
    app = _tenant_app(local, hub, tenant_id)
    profiles = dict(app.hub_models["profiles"])
    runtime = app.client("bedrock-runtime")
    calls = [_converse(runtime, arn, MAX_WORDS) for arn in profiles.values() for _ in range(3)]
    console.print(f"{tenant_id}'s application calls its {len(profiles)} model(s) {len(calls)} times today "
                  f"({sum(c['usage']['inputTokens'] for c in calls):,} input tokens), then the hub admin runs: "
                  f"hubctl tenants offboard {tenant_id} --reason \"{OFFBOARD_REASON}\" --wait")
    with signed_in(local.decider_credentials(OPERATOR, operator=True)):
        code = _hubctl(["tenants", "offboard", tenant_id, "--reason", OFFBOARD_REASON, "--wait"], show=True)
    refused = {_call(app, arn) for arn in profiles.values()}
    expect(code == 0 and refused == {"AccessDeniedException"},
           f"offboarded; its next call with the credentials it already held: {', '.join(sorted(refused)) or 'no call'}")
    items = views.tenant_items(hub, tenant_id)
    meta, left = items["META"], [k for k in items if k.startswith(("PROFILE#", "GRANT#"))]
    tombstone = meta.get("tombstone") or {}
    expect(meta["status"] == "OFFBOARDED" and not left and len(tombstone.get("deleted", {}).get("profiles", [])) == len(profiles),
           f"{tenant_id} {meta['status']}: {len(tombstone.get('deleted', {}).get('profiles', []))} profile(s) and "
           f"{len(tombstone.get('deleted', {}).get('grants', []))} grant(s) deleted, {len(left)} left; tombstone kept "
           f"(cost centre {tombstone.get('cost_center')}, reason and who on META)")
    expect(Decimal(str(tombstone.get("final_month_to_date_usd", "0"))) > 0,
           f"its usage closed up to the cut: final spend {tombstone.get('final_month_to_date_usd')} USD in {tombstone.get('month')}, "
           f"kept for hubctl usage --tenant {tenant_id}")
    from genai_hub import audit

    actions = [r["action"] for r in audit.read_stream(f"tenant#{tenant_id}", hub.output("AuditTableName"))][-4:]
    expect(actions == ["CutAccess", "CloseUsage", "DeleteTenantResources", "OffboardTenant"],
           f"its audit stream (hubctl audit show --tenant {tenant_id}) ends: {' -> '.join(actions)}")
    return expect.failures


def _call(app, model_id: str) -> str:
    """One Converse call of a tenant application: "" when answered, else the error code."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    try:
        app.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1})).converse(
            modelId=model_id, messages=[{"role": "user", "content": [{"text": "hello"}]}])
        return ""
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def _invoke_client(local, detail: dict):
    """bedrock-runtime as the tenant's application calls it, with the hub credentials the broker vends it."""
    from botocore.config import Config

    session = local.tenant_session(detail["tenant_id"], detail["spoke"]["account_id"])
    return session.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))


def _converse(runtime, profile_arn: str, words: int) -> dict:
    prompt = " ".join(["summarise"] * words)
    return runtime.converse(modelId=profile_arn, messages=[{"role": "user", "content": [{"text": prompt}]}])


def _spend(runtime, profile_arn: str, usd: Decimal) -> int:
    """A few Converse calls whose tokens cost `usd` at the price table's rates: each prompt's word count
    is chosen for it, and the last calls make up for the answers' tokens. Returns the number of calls."""
    from genai_hub import pricing

    price = pricing.unit_price(BUDGET_MODEL)
    per_word = price.input_per_1k / 1000
    calls = math.ceil(usd / (MAX_WORDS * per_word)) + 1
    left, answer_tokens = usd, 0
    for n in range(calls):
        fixed = answer_tokens * price.output_per_1k / 1000 + price.per_request
        words = min(MAX_WORDS, max(1, int((left / (calls - n) - fixed) / per_word)))
        used = _converse(runtime, profile_arn, words)["usage"]
        answer_tokens = used["outputTokens"]
        left -= pricing.cost(BUDGET_MODEL, pricing.Usage(1, used["inputTokens"], answer_tokens))
    return calls


def _refused(runtime, profile_arn: str) -> str:
    """The error code of one Converse call, or "" when it is answered."""
    from botocore.exceptions import ClientError

    try:
        _converse(runtime, profile_arn, 8)
        return ""
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def _budget_alerts(local, hub: Hub, samples: list[tuple[str, dict]], quiet: bool) -> int:
    """Three tenants call their profiles with hub credentials vended by the broker on simulated days of last month; a
    budget run each night (hubctl budget run) meters them, prices them and moves their levels."""
    from hubsim.patches.bedrock_runtime import simulated_now

    console = views.console
    console.print(Rule("Budget alerts"))
    expect = Expect()

    # Onboarding, as any tenant: the samples' budgets are small (5, 30 and 40 USD a month).
    mine = [(name, sample) for name, sample in samples if sample.get("demo_section") == BUDGET_SECTION]
    with console.status(f"Onboarding {', '.join(s['detail']['tenant_id'] for _, s in mine)}..."):
        for _, sample in mine:
            local.put_event(sample["detail-type"], sample["detail"])
        local.wait_for_executions(timeout=120)
    for name, sample in mine:
        ok, text = _outcome(hub, sample, [])
        budget = sample["detail"]["budget"]
        expect(ok, f"{name}: {text}, budget {budget['monthly_limit_usd']} USD a month, at RED: {budget['on_red']}")
    details = {s["detail"]["tenant_id"]: s["detail"] for _, s in mine}
    tenants = {t: details[t] for t in DAILY_USD}
    profiles = {t: views.tenant_items(hub, t)[f"PROFILE#{BUDGET_MODEL}"]["profile_arn"] for t in tenants}
    runtimes = {t: _invoke_client(local, detail) for t, detail in tenants.items()}
    drain = _subscribe(local, hub, "demo-budget-alerts", BUDGET_EVENTS)

    # Last month, day by day: traffic at noon (the runtime stamps its metrics with the simulated
    # clock), then the nightly run at midnight, as the schedule would start it.
    now = datetime.now(timezone.utc)
    first = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
    month = first.strftime("%Y-%m")
    n_days = len(DAILY_USD[RUNAWAY])
    console.print(f"{', '.join(tenants)} invoke {BUDGET_MODEL} through their application inference profiles with their "
                  f"hub credentials the broker vended them on {first:%Y-%m-%d}..{first + timedelta(days=n_days - 1):%d} (simulated days); "
                  f"a budget run meters them each midnight (hubctl budget run --as-of ... --wait)")
    days, calls = [], 0
    with console.status("") as status:
        for n in range(n_days):
            day = first + timedelta(days=n)
            status.update(f"Simulated day {day:%Y-%m-%d} ({n + 1}/{n_days}): Converse calls with the vended credentials, "
                          "then the budget run at midnight...")
            refused = {}
            with simulated_now(day + timedelta(hours=12)):
                for tenant_id in tenants:
                    if views.tenant_items(hub, tenant_id)["META"]["status"] == "SUSPENDED":  # it tries all the same
                        refused[tenant_id] = _refused(runtimes[tenant_id], profiles[tenant_id])
                        calls += 1
                        continue
                    calls += _spend(runtimes[tenant_id], profiles[tenant_id], Decimal(DAILY_USD[tenant_id][n]))
            as_of = (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            code = _hubctl(["budget", "run", "--as-of", as_of, "--requested-by", "demo-nightly", "--wait"], show=False)
            days.append(_budget_day(hub, tenants, month, day, code, refused))
    console.print(f"{calls} Converse calls on {n_days} simulated days, {n_days} budget runs")

    events = {t: drain(t) for t in BUDGET_EVENTS}
    _print_budget_days(days, tenants)
    expect(all(d["run"] == 0 for d in days), f"every nightly budget run succeeded ({n_days})")
    runaway = [d["tenants"][RUNAWAY] for d in days]
    climb = [r["level"] for i, r in enumerate(runaway) if i == 0 or r["level"] != runaway[i - 1]["level"]]
    told = [(e["previous_level"], e["level"], e["action"]) for e in events["TenantBudgetLevelChanged"] if e["tenant_id"] == RUNAWAY]
    expect(climb == ["GREEN", "YELLOW", "ORANGE", "RED"] and runaway[-1]["status"] == "SUSPENDED"
           and told == [("GREEN", "YELLOW", "notified"), ("YELLOW", "ORANGE", "notified"), ("ORANGE", "RED", "suspended")],
           f"{RUNAWAY}: {' -> '.join(climb)}, {runaway[-1]['status']}; TenantBudgetLevelChanged "
           f"{', '.join(f'{a}->{b} ({c})' for a, b, c in told) or 'none'}")
    refused = [r["refused"] for r in runaway if r["refused"] is not None]
    expect(bool(refused) and all(code == "AccessDeniedException" for code in refused),
           f"{RUNAWAY} suspended: its Converse call refused with {', '.join(sorted({c or 'no error' for c in refused})) or 'no call'} "
           "(with the credentials it had: its profiles tagged suspended, its sessions revoked in the hub)")
    spent = [d["tenants"][SPIKY]["spent"] for d in days]
    median = sorted(spent)[len(spent) // 2]
    others = sorted({e["tenant_id"] for e in events["TenantBudgetLevelChanged"] if e["tenant_id"] != RUNAWAY})
    expect(all(d["tenants"][SPIKY]["level"] == "GREEN" for d in days) and max(spent) >= 5 * median and not others,
           f"{SPIKY}: one {max(spent):.2f} USD day (median {median:.2f}) and GREEN every day; no other tenant changed level"
           + (f" (but {', '.join(others)} did)" if others else ""))
    crossing = next((d for i, d in enumerate(days) if d["hub"]["level"] != (days[i - 1]["hub"]["level"] if i else "GREEN")), None)
    hub_told = [f"{e['previous_level']}->{e['level']}" for e in events["HubBudgetLevelChanged"] if e["month"] == month]
    if crossing is None:
        expect(False, f"the hub never changed level in {month} (HubBudgetLevelChanged {', '.join(hub_told) or 'not sent'})")
    else:
        h = crossing["hub"]
        expect(views.level_rank(crossing["others"]) <= views.level_rank("YELLOW") and hub_told[:1] == [f"GREEN->{h['level']}"],
               f"the hub crossed its {h['level']} line on {crossing['day']} (forecast {Decimal(h['forecast']):.2f} USD, hub budget "
               f"{Decimal(h['limit']):.2f}) while every tenant but {RUNAWAY} was at most {crossing['others']}: "
               f"HubBudgetLevelChanged {', '.join(hub_told)}")

    # The new month: the first run after midnight starts every level from GREEN and lifts the suspension.
    rollover = min(now.replace(day=1, hour=6, minute=0, second=0, microsecond=0), now).strftime("%Y-%m-%dT%H:%M:%SZ")
    console.print(f"A new month: the run as of {rollover} closes {month} and starts {now:%Y-%m} from GREEN")
    code = _hubctl(["budget", "run", "--as-of", rollover, "--requested-by", "demo-nightly", "--wait"], show=not quiet)
    meta = views.tenant_items(hub, RUNAWAY)["META"]
    tags = local.client("bedrock").list_tags_for_resource(resourceARN=profiles[RUNAWAY])["tags"]
    access_tag = next((t["value"] for t in tags if t["key"] == "genai-hub:access"), None)
    # Its old session was revoked at RED: the application gets new credentials, as tenant_app.py does.
    answered = _call(_tenant_app(local, hub, RUNAWAY), profiles[RUNAWAY])
    back = [e for e in drain("TenantBudgetLevelChanged") if e["tenant_id"] == RUNAWAY and e["month"] != month]
    expect(code == 0 and meta.get("budget_level") == "GREEN" and meta["status"] == "ACTIVE" and answered == ""
           and access_tag == "granted" and [(e["previous_level"], e["level"], e["action"]) for e in back] == [("RED", "GREEN", "restored")],
           f"{RUNAWAY}: {meta.get('budget_level')}, {meta['status']} (TenantBudgetLevelChanged "
           f"{', '.join(e['previous_level'] + '->' + e['level'] + ' (' + e['action'] + ')' for e in back) or 'not sent'}), "
           f"its profile tagged {access_tag}, a Converse call with new credentials {'answered' if answered == '' else 'refused: ' + answered}")
    _print_budget_events(drain("TenantBudgetLevelChanged"), drain("HubBudgetLevelChanged"))
    if not quiet:
        _hubctl(["usage", "--month", month], show=True)
        _hubctl(["usage", "--tenant", RUNAWAY, "--month", month], show=True)
    return expect.failures


def _budget_day(hub: Hub, tenants: dict, month: str, day: datetime, code: int, refused: dict) -> dict:
    """The registry after a nightly run: each demo tenant's spend that day, level and status (and the
    error of its refused call); the highest level of every other tenant; the hub's figures and level."""
    usage = {i["tenant_id"]: i for i in views.month_usage(hub, month)}
    metas = views.indexed_tenants(hub)
    key, row = day.date().isoformat(), {"day": day.date().isoformat(), "run": code, "tenants": {}}
    levels = {}
    for tenant_id, meta in metas.items():
        item = usage.get(tenant_id)
        levels[tenant_id] = views.level_in_force(item, meta) if item else "GREEN"
    for tenant_id in tenants:
        item = usage.get(tenant_id, {})
        row["tenants"][tenant_id] = {"spent": Decimal(str((item.get("days") or {}).get(key, 0))), "level": levels[tenant_id],
                                     "status": metas[tenant_id]["status"], "refused": refused.get(tenant_id)}
    row["others"] = max((level for t, level in levels.items() if t != RUNAWAY), key=views.level_rank, default="GREEN")
    hub_item, hub_meta = views.hub_budget(hub, month)
    hub_item = hub_item or {}
    row["hub"] = {"mtd": hub_item.get("month_to_date_usd", "0"), "forecast": hub_item.get("forecast_usd", "0"),
                  "limit": hub_item.get("limit_usd", "0"),
                  "level": hub_meta.get("budget_level", "GREEN") if hub_meta.get("budget_level_month") == month else "GREEN"}
    return row


def _print_budget_days(days: list[dict], tenants: dict) -> None:
    """Day by day: what each tenant spent and its level after that night's run (* = the level changed)."""
    table = views.new_table("Levels after each nightly run (USD spent that day, level; * changed)", "day", *tenants,
                            "hub: month to date / forecast")
    previous: dict = {}
    for d in days:
        cells = []
        for tenant_id in tenants:
            t = d["tenants"][tenant_id]
            mark = "*" if previous.get(tenant_id, "GREEN") != t["level"] else " "
            previous[tenant_id] = t["level"]
            spent = "refused" if t["refused"] is not None else f"{t['spent']:.2f}"
            cells.append(f"{spent:>7} {views.level_text(t['level'])}{mark}" + (" [bold red]SUSPENDED[/bold red]" if t["status"] == "SUSPENDED" else ""))
        h = d["hub"]
        mark = "*" if previous.get("hub", "GREEN") != h["level"] else " "
        previous["hub"] = h["level"]
        cells.append(f"{Decimal(h['mtd']):6.2f} / {Decimal(h['forecast']):6.2f} {views.level_text(h['level'])}{mark}")
        table.add_row(d["day"], *cells)
    views.console.print(table)


def _print_budget_events(tenant_events: list[dict], hub_events: list[dict]) -> None:
    """Every budget event a subscriber on the hub bus received, in time order."""
    table = views.new_table("Budget events on the hub bus (USD)", "event", "as of", "who", "level", "action", "to date",
                            "forecast", "why")
    rows = [("TenantBudgetLevelChanged", e, e["tenant_id"], e["action"]) for e in tenant_events]
    rows += [("HubBudgetLevelChanged", e, "hub", "") for e in hub_events]
    for name, e, who, action in sorted(rows, key=lambda r: (r[1]["as_of"], r[0] != "TenantBudgetLevelChanged", r[2])):
        table.add_row(name, e["as_of"][:16].replace("T", " "), who,
                      f"{views.level_text(e['previous_level'])} -> {views.level_text(e['level'])}", action,
                      f"{Decimal(e['month_to_date_usd']):.2f}", f"{Decimal(e['forecast_usd']):.2f}",
                      "; ".join(e["reasons"]) or "within every threshold")
    views.console.print(table)


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
        onboarding = [(name, sample) for name, sample in samples if sample.get("demo_section") != BUDGET_SECTION]
        for name, sample in samples:
            spoke = sample["detail"].get("spoke")
            if isinstance(spoke, dict) and spoke.get("account_id") not in local.spokes:
                local.deploy_tenant_spoke(spoke["account_id"])
        console.print(f"Deployed spokes/tenant.yaml into accounts {', '.join(sorted(local.spokes))}")

        console.print(Rule("Onboarding requests"))
        sent = time.perf_counter()
        for name, sample in onboarding:
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
        for name, sample in onboarding:
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
        failures += _tenant_applications(local, hub)

        failures += _model_import(local, hub, quiet)
        failures += _imported_usage(local, hub)
        failures += _model_retirement(local, hub, quiet)
        failures += _model_lifecycle(local, hub)
        failures += _budget_alerts(local, hub, samples, quiet)
        failures += _tenant_update(local, hub)
        failures += _offboarding(local, hub)
        console.print(Rule("Audit trail"))
        if not quiet:
            views.print_audit(hub)
        # Anchored outside the table: a signed digest of every chain's head in an Object Lock bucket
        # (hourly on AWS; now, as `hubctl audit digest` does), then the chains checked against it.
        console.print("A digest of every chain's head, signed with the hub's KMS key (hubctl audit digest):")
        failures += views.write_audit_digest(hub)
        console.print("The chains against the signed digests (hubctl audit verify):")
        problems = views.verify_audit(hub)
        failures += len(problems)
        console.print(Rule())
        verdict = "[green]demo passed[/green]" if not failures else f"[red]demo failed: {failures} unexpected outcome(s)[/red]"
        console.print(f"{verdict} in {time.perf_counter() - started:.1f}s")
        return 0 if not failures else 1
    finally:
        local.stop()
