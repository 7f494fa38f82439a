"""`hubctl local up` as an AWS endpoint: boto3, hubctl and the AWS CLI in other processes use it.

One server for the module (deploying the hub takes a few seconds); it is always stopped, SIGTERM
first, then killed if it does not exit in time.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60
STOP_TIMEOUT = 20
COMMAND_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client_env() -> dict:
    """Dummy credentials and a Region, never the developer's AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "COLUMNS": "200", "PYTHONUNBUFFERED": "1",
    })
    return env


class _Output:
    """Drains a process's output on a thread (a full pipe would block the server); signals the ready line."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)
            if "ready at" in line:
                self.ready.set()

    def text(self) -> str:
        return "".join(self.lines)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hubctl.cli", "local", "up", "--port", str(port)],
        cwd=ROOT, env=_client_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    output = _Output(process.stdout)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not output.ready.wait(0.2):
            if process.poll() is not None:
                pytest.fail(f"hubctl local up exited with {process.returncode} before it was ready:\n{output.text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"hubctl local up not ready after {READY_TIMEOUT}s:\n{output.text()}")
        endpoint = f"http://127.0.0.1:{port}"
        assert endpoint in next(line for line in output.lines if "ready at" in line)
        yield endpoint
    finally:
        _stop(process)


def _hubctl(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hubctl.cli", "--endpoint-url", endpoint, *args],
        cwd=ROOT, env=_client_env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
    )


def _client(service: str, endpoint: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def test_stack_outputs_are_served_to_boto3_in_another_process(server):
    stack = _client("cloudformation", server).describe_stacks(StackName="genai-hub")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    for key in ("EventBusName", "RegistryTableName", "AuditTableName", "OnboardingStateMachineArn"):
        assert outputs.get(key), f"no output {key}: {sorted(outputs)}"
    assert outputs["OnboardingStateMachineArn"].startswith("arn:aws:states:us-east-1:123456789012:stateMachine:")


def test_hubctl_onboards_a_tenant_through_the_endpoint(server):
    onboarded = _hubctl(server, "onboard", "events/onboarding/acme-retail-us.json", "--wait")
    assert onboarded.returncode == 0, onboarded.stdout + onboarded.stderr
    assert "SUCCEEDED" in onboarded.stdout

    shown = _hubctl(server, "tenants", "show", "acme-retail")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "ACTIVE" in shown.stdout

    verified = _hubctl(server, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_aws_cli_lists_the_onboarding_state_machine(server):
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("no aws CLI on PATH")
    try:
        version = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=60, env=_client_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"aws CLI does not run: {exc}")
    if version.returncode != 0:
        pytest.skip(f"aws --version exited {version.returncode}: {version.stderr.strip()}")

    listed = subprocess.run(
        [aws, "--endpoint-url", server, "--output", "json", "stepfunctions", "list-state-machines"],
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=_client_env(),
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    outputs = _client("cloudformation", server).describe_stacks(StackName="genai-hub")["Stacks"][0]["Outputs"]
    onboarding = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "OnboardingStateMachineArn")
    assert onboarding in [m["stateMachineArn"] for m in json.loads(listed.stdout)["stateMachines"]]


CLIENTS, STARTS_PER_CLIENT = 20, 50


def test_the_server_completes_every_workflow_start_of_20_concurrent_clients(server, record_property):
    # Given 20 clients, each with its own connection, starting 50 budget runs as fast as they can
    from concurrent.futures import ThreadPoolExecutor

    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               _client("cloudformation", server).describe_stacks(StackName="genai-hub")["Stacks"][0]["Outputs"]}
    arn = outputs["BudgetAlertsStateMachineArn"]
    request = json.dumps({"as_of": "2026-10-15T00:00:00Z", "requested_by": "load-test"})

    def client_starts(number: int) -> list[str]:
        sfn = _client("stepfunctions", server)
        return [sfn.start_execution(stateMachineArn=arn, name=f"load-{number:02d}-{n:02d}", input=request)["executionArn"]
                for n in range(STARTS_PER_CLIENT)]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        arns = [a for batch in pool.map(client_starts, range(CLIENTS)) for a in batch]
    accepted = time.perf_counter() - started

    # Then every start is known to the engine and every execution ends SUCCEEDED
    sfn = _client("stepfunctions", server)
    deadline = time.monotonic() + 300
    while True:
        statuses = {}
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            statuses.update({e["executionArn"]: e["status"] for e in page["executions"]})
        if not [a for a in arns if statuses.get(a) in (None, "RUNNING")]:
            break
        assert time.monotonic() < deadline, f"{sum(1 for a in arns if statuses.get(a) == 'RUNNING')} still running after 300 s"
        time.sleep(1)
    took = time.perf_counter() - started
    assert len(set(arns)) == CLIENTS * STARTS_PER_CLIENT
    assert {statuses[a] for a in arns} == {"SUCCEEDED"}
    record_property("figures", f"local server: {CLIENTS} clients x {STARTS_PER_CLIENT} budget-run starts accepted in "
                               f"{accepted:.1f}s, all {len(arns)} SUCCEEDED in {took:.1f}s ({len(arns) / took:.1f} executions/s)")


class _TenantCli:
    """A tenant following docs/tenants.md with the AWS CLI against the local server: its application's
    identity in its account (profile <tenant>-app), then a profile whose credential_process asks the
    hub's broker (profile <tenant>-hub)."""

    def __init__(self, aws: str, server: str, tmp_path: Path, tenant_id: str, account: str = "222222222222"):
        self.aws, self.server, self.tenant_id = aws, server, tenant_id
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in
                        _client("cloudformation", server).describe_stacks(StackName="genai-hub")["Stacks"][0]["Outputs"]}
        config, credentials = tmp_path / "config", tmp_path / "credentials"
        self.env = {**_client_env(), "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
        admin = self._assume(f"arn:aws:iam::{account}:role/hubsim-account-admin")
        app = self._assume(f"arn:aws:iam::{account}:role/genai-hub-tenant-app", **admin)
        for key, name in (("AWS_ACCESS_KEY_ID", "aws_access_key_id"), ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
                          ("AWS_SESSION_TOKEN", "aws_session_token")):
            assert self.run("configure", "set", name, app[key], "--profile", f"{tenant_id}-app").returncode == 0
        config.write_text((config.read_text() if config.exists() else "") + (
            f"\n[profile {tenant_id}-hub]\nregion = us-east-1\ncredential_process = {sys.executable} "
            f"{ROOT / 'examples' / 'tenant_app.py'} --endpoint-url {server} --profile {tenant_id}-app credentials "
            f"--url {self.outputs['TenantCredentialsUrl']} --tenant {tenant_id}\n"))
        # The guardrail every call must carry, as docs/tenants.md gets it
        guardrail = subprocess.run([sys.executable, str(ROOT / "examples" / "tenant_app.py"), "--endpoint-url", server,
                                    "--profile", f"{tenant_id}-app", "guardrail", "--url", self.outputs["TenantCredentialsUrl"],
                                    "--tenant", tenant_id], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=self.env)
        assert guardrail.returncode == 0, guardrail.stderr
        self.guardrail = guardrail.stdout.strip()

    def run(self, *args: str, **extra) -> subprocess.CompletedProcess:
        return subprocess.run([self.aws, "--endpoint-url", self.server, *args], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, env={**self.env, **extra})

    def _assume(self, role_arn: str, **creds) -> dict:
        done = self.run("sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "app", "--output", "json", **creds)
        assert done.returncode == 0, done.stderr
        c = json.loads(done.stdout)["Credentials"]
        return {"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"], "AWS_SESSION_TOKEN": c["SessionToken"]}

    def profile_arn(self, model_id: str) -> str:
        item = _client("dynamodb", self.server).get_item(TableName=self.outputs["RegistryTableName"], Key={
            "pk": {"S": f"TENANT#{self.tenant_id}"}, "sk": {"S": f"PROFILE#{model_id}"}})["Item"]
        return item["profile_arn"]["S"]

    def converse(self, model_id: str, text: str = "Hello", profile: str = "hub", guardrail: bool = True) -> subprocess.CompletedProcess:
        return self.run("bedrock-runtime", "converse", "--profile", f"{self.tenant_id}-{profile}", "--model-id", model_id,
                        *(("--guardrail-config", self.guardrail) if guardrail else ()),
                        "--messages", json.dumps([{"role": "user", "content": [{"text": text}]}]))


def _aws_cli() -> str:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("no aws CLI on PATH")
    return aws


@pytest.fixture(scope="module")
def tenant_cli(server, tmp_path_factory):
    """acme-retail and globex-support onboarded on the server; acme-retail set up with the AWS CLI as
    docs/tenants.md says."""
    aws = _aws_cli()
    for sample in ("acme-retail-us.json", "globex-support-us.json"):
        onboarded = _hubctl(server, "onboard", f"events/onboarding/{sample}", "--wait")
        assert onboarded.returncode == 0, onboarded.stdout + onboarded.stderr
    return _TenantCli(aws, server, tmp_path_factory.mktemp("acme"), "acme-retail")


def test_a_tenant_follows_the_tenant_guide_with_the_aws_cli(tenant_cli):
    # When acme-retail follows docs/tenants.md: its application's identity, a profile with credential_process
    profile_arn = tenant_cli.profile_arn("amazon.nova-pro-v1:0")
    answered = tenant_cli.converse(profile_arn)
    direct = tenant_cli.converse("amazon.nova-pro-v1:0")
    others = _client("dynamodb", tenant_cli.server).get_item(TableName=tenant_cli.outputs["RegistryTableName"], Key={
        "pk": {"S": "TENANT#globex-support"}, "sk": {"S": "PROFILE#amazon.nova-lite-v1:0"}})["Item"]["profile_arn"]["S"]
    another = tenant_cli.converse(others)
    as_itself = tenant_cli.converse(profile_arn, profile="app")
    unguarded = tenant_cli.converse(profile_arn, guardrail=False)

    # Then its model answers through its profile; a bare foundation model id, another tenant's profile
    # its own identity calling the hub's profile, and a call without its guardrail are refused
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["output"]["message"]["content"][0]["text"] == "Echo: Hello"
    for refused in (direct, another, as_itself, unguarded):
        assert refused.returncode != 0 and "AccessDeniedException" in refused.stderr, refused.stderr


def test_a_tenant_calls_an_imported_model_promoted_to_it_with_the_aws_cli(tenant_cli):
    # Given the research account drops a model that passes the strict policy (promoted without a person)
    import importlib

    from hubsim import sample_model

    good = importlib.import_module("test_evaluation").GOOD
    research = _TenantCli.__new__(_TenantCli)
    research.aws, research.server, research.env = tenant_cli.aws, tenant_cli.server, tenant_cli.env
    admin = research._assume("arn:aws:iam::111111111111:role/hubsim-account-admin")
    s3 = boto3.client("s3", endpoint_url=tenant_cli.server, region_name="us-east-1", aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"], aws_session_token=admin["AWS_SESSION_TOKEN"])
    files = {**sample_model.files(), "hubsim-answers.json": json.dumps(good).encode()}
    sample_model.upload(s3, "genai-research-artifacts-111111111111", "models/cli-bot/1.0.0", files,
                        sample_model.manifest("cli-bot", "1.0.0", tenants=["acme-retail"], evaluation_policy="strict-support"))
    ddb, deadline = _client("dynamodb", tenant_cli.server), time.monotonic() + 120
    while True:
        item = ddb.get_item(TableName=tenant_cli.outputs["RegistryTableName"], Key={
            "pk": {"S": "TENANT#acme-retail"}, "sk": {"S": "GRANT#cli-bot:1.0.0"}}).get("Item")
        if item:
            break
        assert time.monotonic() < deadline, "cli-bot 1.0.0 not granted to acme-retail after 120 s"
        time.sleep(1)

    # When acme-retail calls it by its ARN with the AWS CLI (credential_process gets a new session each run)
    answered = tenant_cli.converse(item["invoke_arn"]["S"])

    # Then it answers
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["output"]["message"]["content"][0]["text"]


def _assume(server: str, role_arn: str, base: boto3.session.Session | None = None) -> boto3.session.Session:
    sts = (base or boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                          region_name="us-east-1")).client("sts", endpoint_url=server)
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="app")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name="us-east-1")


def test_the_budget_story_replays_on_the_local_clock(server):
    # Given northwind-labs (5 USD a month) onboarded on the server, and its application's hub session
    sys.path.insert(0, str(ROOT / "examples"))
    from tenant_app import converse_with_retry, model_target, vended_session

    onboarded = _hubctl(server, "onboard", "events/onboarding/budget-northwind-labs-us.json", "--wait")
    assert onboarded.returncode == 0, onboarded.stdout + onboarded.stderr
    admin = _assume(server, "arn:aws:iam::888888888888:role/hubsim-account-admin")
    app = _assume(server, "arn:aws:iam::888888888888:role/genai-hub-tenant-app", admin)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               _client("cloudformation", server).describe_stacks(StackName="genai-hub")["Stacks"][0]["Outputs"]}
    session = vended_session(outputs["TenantCredentialsUrl"], "northwind-labs", app, endpoint_url=server)
    target = model_target(session, "anthropic.claude-sonnet-4-20250514-v1:0")
    day = (datetime.now(timezone.utc) - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    try:
        # When the local clock is set to noon three days ago, the tenant calls, and the clock moves a day on
        assert "ahead of real time" in _hubctl(server, "local", "clock", "set", "2099-01-01T00:00:00Z").stderr
        moved = _hubctl(server, "local", "clock", "set", day.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert moved.returncode == 0 and f"local clock {day:%Y-%m-%dT%H}" in moved.stdout, moved.stdout + moved.stderr
        for _ in range(3):
            converse_with_retry(session, target, "Summarise the quarterly numbers for the board in one paragraph " * 20)
        advanced = _hubctl(server, "local", "clock", "advance", "P1D")
        assert advanced.returncode == 0 and "behind real time" in advanced.stdout, advanced.stdout + advanced.stderr
        # And a budget run is started without --as-of
        run = _hubctl(server, "budget", "run", "--tenants", "northwind-labs", "--wait")
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"as of {day + timedelta(days=1):%Y-%m-%dT%H}" in run.stdout and "the local clock" in run.stdout
    finally:
        reset = _hubctl(server, "local", "clock", "reset")
    # Then it metered up to the local clock: the calls are that day's spend, in that day's month
    assert reset.returncode == 0 and "(real time)" in reset.stdout
    usage = _hubctl(server, "usage", "--tenant", "northwind-labs", "--month", f"{day:%Y-%m}", "--output", "json")
    assert usage.returncode == 0, usage.stderr
    spent = json.loads(usage.stdout)["usage"]["days"]
    assert [d for d, usd in spent.items() if float(usd) > 0] == [f"{day:%Y-%m-%d}"], spent
