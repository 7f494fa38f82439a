"""The local engine: the hub stack and its spoke accounts on moto, in this process.

    with LocalHub() as hub:
        hub.deploy_tenant_spoke("222222222222", external_id="...")
        hub.put_event("TenantOnboardingRequested", detail)
        hub.wait_for_executions()

Everything goes through the real APIs: boto3 clients of the emulation, the SAM template, the ASL
files and the handlers. Only hubsim.patches reaches into moto.
"""
import contextlib
import json
import os
import threading
import time
from pathlib import Path

import boto3
from moto import mock_aws

from hubsim import deploy, faults, patches, runtime
from hubsim.patches.sts import ACCOUNT_ADMIN_ROLE

ROOT = Path(__file__).resolve().parent.parent
HUB_ACCOUNT = "123456789012"  # moto's default account: the Step Functions interpreter acts in it
REGION = "us-east-1"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
RESEARCH_ACCOUNT = "111111111111"
RESEARCH_EXTERNAL_ID = "research-hub-external-id"
# Stack parameters for a laptop: poll an import job every 1-4 s instead of 1-15 min; meter usage
# up to the moment asked (the emulated CloudWatch has no late datapoints); a hub budget the demo's
# synthetic traffic can reach.
LOCAL_PARAMETERS = {
    "ResearchAccountId": RESEARCH_ACCOUNT,
    "ResearchArtifactBucketName": f"genai-research-artifacts-{RESEARCH_ACCOUNT}",
    "ResearchExternalId": RESEARCH_EXTERNAL_ID,
    "ImportPollInitialSeconds": 1,
    "ImportPollMaxSeconds": 4,
    "ImportDeadlineSeconds": 120,
    "ImportSlotWaitSeconds": 1,
    "MeteringLagSeconds": 0,
    "HubMonthlyBudgetUsd": 60,
}


# Services the hub and the engine call. moto loads each one's botocore model on first use, and a
# burst of concurrent first uses would each load it (a directory scan of botocore's data).
SERVICES = ("bedrock", "bedrock-runtime", "cloudformation", "cloudwatch", "dynamodb", "events", "iam",
            "lambda", "logs", "s3", "sqs", "stepfunctions", "sts")


def _warm_service_models() -> None:
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model

    for service in SERVICES:
        get_service_model(service)
        get_service_router(service)


def tenant_app():
    """examples/tenant_app.py, the tenant's documented client, loaded as a module: the engine's tenant
    sessions are exactly what a tenant's application gets."""
    import importlib.util
    import sys

    module = sys.modules.get("genai_hub_tenant_app")
    if module is None:
        spec = importlib.util.spec_from_file_location("genai_hub_tenant_app", ROOT / "examples" / "tenant_app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["genai_hub_tenant_app"] = module
        spec.loader.exec_module(module)
    return module


def session_of(credentials: dict, region: str) -> boto3.session.Session:
    """A boto3 session with STS credentials (AccessKeyId, SecretAccessKey, SessionToken)."""
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=region)


@contextlib.contextmanager
def signed_in(credentials: dict):
    """hubctl commands inside the block sign as these credentials (as `AWS_PROFILE=...` does on AWS);
    calls before and after are the account's. Lambda invocations keep their own environment (runtime)."""
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(zip(keys, (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class EngineError(RuntimeError):
    """The emulation itself failed (as opposed to a workflow failing)."""


class LocalHub:
    def __init__(self, root: Path = ROOT, stack_name: str = "genai-hub", region: str = REGION, parameters: dict | None = None):
        self.root, self.stack_name, self.region = root, stack_name, region
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self.outputs: dict = {}
        self.spokes: dict[str, dict] = {}
        self.research: dict = {}
        self._mock = None
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], object] = {}
        self._server = None
        self._endpoint = ""

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, deploy_hub: bool = True) -> "LocalHub":
        runtime.install()
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        patches.apply_all()
        _warm_service_models()
        faults.clear()
        from hubctl import stack

        stack.in_process_http = self.endpoint  # hubctl's function URL calls reach this emulation
        if deploy_hub:
            self.deploy_hub()
        return self

    def stop(self) -> None:
        faults.clear()
        from hubctl import stack

        if stack.in_process_http == self.endpoint:
            stack.in_process_http = None
        if self._mock is not None:
            self.wait_for_executions(timeout=30, raise_on_timeout=False)
            if self._server is not None:
                self._server.stop()
                self._server = None
            self._mock.stop()
            self._mock = None
            self._clients.clear()

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- deployment -----------------------------------------------------------------------------
    def deploy_hub(self) -> dict:
        self.outputs = deploy.deploy(self.root / "template.yaml", self.stack_name, parameters=self.parameters, region=self.region)
        # As docs/deploying.md's `aws s3 sync datasets/ s3://<EvaluationBucketName>/datasets/` does on AWS.
        s3 = self.client("s3")
        for dataset in sorted((self.root / "datasets").glob("*.jsonl")):
            s3.put_object(Bucket=self.outputs["EvaluationBucketName"], Key=f"datasets/{dataset.name}", Body=dataset.read_bytes())
        return self.outputs

    def account_session(self, account_id: str) -> boto3.session.Session:
        """A session acting in `account_id` (moto switches account on AssumeRole)."""
        if account_id == HUB_ACCOUNT:
            return boto3.session.Session(region_name=self.region)
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ACCOUNT_ADMIN_ROLE}", RoleSessionName="hubsim"
        )["Credentials"]
        return session_of(creds, self.region)

    def person_credentials(self, role_name: str, person: str, tags: dict | None = None, account_id: str = HUB_ACCOUNT,
                           policy_arns: tuple[str, ...] = (), policy: dict | None = None) -> dict:
        """Credentials of `person` signed in through role `role_name` of `account_id` (created on first
        use, tagged, with `policy_arns` attached; trusted by its account, as an Identity Center
        permission set's role is): the session name is the person, as Identity Center sets it."""
        iam = self.account_session(account_id).client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}}]}
        try:
            role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust),
                                       Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])["Role"]["Arn"]
            for policy_arn in policy_arns:
                iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
            if policy:
                iam.put_role_policy(RoleName=role_name, PolicyName="inline", PolicyDocument=json.dumps(policy))
        return self.account_session(account_id).client("sts").assume_role(RoleArn=role_arn, RoleSessionName=person)["Credentials"]

    def research_person_session(self, person: str) -> boto3.session.Session:
        """A research scientist of the research spoke, signed in as `person`: may upload drops (and tag
        them with who she is, as the spoke's bucket policy requires) and nothing else."""
        bucket_arn, key_arn = f"arn:aws:s3:::{self.research['ArtifactBucketName']}", self.research["ArtifactKeyArn"]
        creds = self.person_credentials("research-scientist", person, account_id=RESEARCH_ACCOUNT, policy={
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": f"{bucket_arn}/*"},
                {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Encrypt"], "Resource": key_arn}]})
        return session_of(creds, self.research_region)

    def decider_credentials(self, person: str, *, operator: bool = False) -> dict:
        """A person of the hub account allowed to decide (genai_hub.decisions, data/decision_policy.json):
        an approver (role hub-approver, tagged genai-hub-approver=true) or an operator (hub-operator,
        tagged genai-hub-operator=true, who also reads the registry to find what to cancel); both with
        the stack's DeciderPolicy, as docs/approver.md sets them up."""
        table = f"arn:aws:dynamodb:{self.region}:{HUB_ACCOUNT}:table/{self.outputs['RegistryTableName']}"
        reader = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:GetItem"], "Resource": [table, f"{table}/index/*"]},
            {"Effect": "Allow", "Action": ["states:DescribeExecution", "states:GetExecutionHistory"],
             "Resource": f"arn:aws:states:{self.region}:{HUB_ACCOUNT}:execution:{self.stack_name}-*"},
            {"Effect": "Allow", "Action": "states:ListExecutions",
             "Resource": f"arn:aws:states:{self.region}:{HUB_ACCOUNT}:stateMachine:{self.stack_name}-*"}]}
        if operator:
            return self.person_credentials("hub-operator", person, {"genai-hub-operator": "true"},
                                           policy_arns=(self.outputs["DeciderPolicyArn"],), policy=reader)
        return self.person_credentials("hub-approver", person, {"genai-hub-approver": "true"},
                                       policy_arns=(self.outputs["DeciderPolicyArn"],))

    def tenant_app_session(self, account_id: str) -> boto3.session.Session:
        """A session as a tenant's application in its own account: the app role of spokes/tenant.yaml,
        assumed from within that account, as the tenant's own code would run."""
        in_spoke = self.account_session(account_id)
        role_arn = self.spokes[account_id]["AppRoleArn"]
        creds = in_spoke.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tenant-app")["Credentials"]
        return session_of(creds, self.region)

    def tenant_session(self, tenant_id: str, account_id: str) -> boto3.session.Session:
        """A session with the tenant's vended hub credentials, obtained as examples/tenant_app.py does:
        the app role signs a request to the credential broker's function URL (refreshed on expiry)."""
        return tenant_app().vended_session(self.outputs["TenantCredentialsUrl"], tenant_id, self.tenant_app_session(account_id),
                              endpoint_url=self.endpoint())

    def endpoint(self) -> str:
        """The emulation as an HTTP endpoint (moto's server in this process, on a free port), started on
        first use: what a tenant's HTTP client (the broker's function URL) talks to."""
        with self._lock:
            if self._server is None:
                import logging
                import socket

                from moto.server import ThreadedMotoServer

                logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise

                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", 0))
                    port = probe.getsockname()[1]
                self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                self._server.start()
                self._endpoint = f"http://127.0.0.1:{port}"
        return self._endpoint

    def deploy_tenant_spoke(self, account_id: str, external_id: str | None = None) -> dict:
        """spokes/tenant.yaml in its own account: the app role allowed to call the hub's broker.
        (`external_id` is accepted and ignored: spokes of the old layout had one.)"""
        outputs = deploy.deploy(
            self.root / "spokes" / "tenant.yaml", "genai-hub-tenant-spoke",
            parameters={"HubCredentialsFunctionArn": self.outputs["TenantCredentialsFunctionArn"]},
            session=self.account_session(account_id), region=self.region,
        )
        self.spokes[account_id] = outputs
        return outputs

    @property
    def research_region(self) -> str:
        return self.parameters.get("ResearchRegion") or self.region

    def deploy_research_spoke(self, account_id: str = RESEARCH_ACCOUNT, **overrides) -> dict:
        """spokes/research.yaml in the research account: bucket, key, grants, forwarding rule."""
        parameters = {
            "HubAccountId": HUB_ACCOUNT,
            "HubEventBusArn": self.outputs["EventBusArn"],
            "HubImportRoleArn": self.outputs["ModelImportRoleArn"],
            "HubGrantsVerifierRoleArn": self.outputs["GrantsVerifierRoleArn"],
            "ExternalId": self.parameters["ResearchExternalId"],
            "ArtifactBucketName": self.parameters["ResearchArtifactBucketName"],
            **overrides,
        }
        # In the hub's ResearchRegion (the hub's own Region by default), as the research team deploys it.
        self.research = deploy.deploy(self.root / "spokes" / "research.yaml", "genai-hub-research", parameters=parameters,
                                      session=self.account_session(account_id), region=self.research_region)
        return self.research

    # --- clients and events ---------------------------------------------------------------------
    def client(self, service: str, region: str | None = None, account_id: str = HUB_ACCOUNT):
        if account_id == HUB_ACCOUNT:
            # One client per service and Region: building one costs more than most calls it makes
            # (wait_for_executions polls through it), and clients are thread-safe.
            key = (service, region or self.region)
            client = self._clients.get(key)
            if client is None:
                with self._lock:
                    client = self._clients.get(key)
                    if client is None:  # built once: a thread that waited on the lock takes the first one
                        client = self._clients[key] = boto3.client(service, region_name=key[1])
            return client
        return self.account_session(account_id).client(service, region_name=region or self.region)

    def put_event(self, detail_type: str, detail: dict, source: str = "genai.hub") -> str:
        response = self.client("events").put_events(Entries=[{
            "EventBusName": self.outputs["EventBusName"], "Source": source,
            "DetailType": detail_type, "Detail": json.dumps(detail),
        }])
        entry = response["Entries"][0]
        if "EventId" not in entry:
            raise EngineError(f"PutEvents refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
        return entry["EventId"]

    # --- executions -----------------------------------------------------------------------------
    def state_machine_arns(self) -> list[str]:
        return [v for k, v in self.outputs.items() if k.endswith("StateMachineArn")]

    def executions(self, state_machine_arn: str | None = None) -> list[dict]:
        sfn = self.client("stepfunctions")
        found = []
        for arn in [state_machine_arn] if state_machine_arn else self.state_machine_arns():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                found.extend(page["executions"])
        return sorted(found, key=lambda e: e["startDate"])

    def wait_for_executions(self, timeout: float = 120, raise_on_timeout: bool = True, poll: float = 0.05) -> list[dict]:
        """Wait until no execution is RUNNING, then return them all; every wait loop has a deadline.

        While waiting it counts the running executions in the emulated backend: listing them through
        the API would serialize every execution ever started on each poll, which under thousands of
        executions took the CPU they needed (see running_executions). So the poll can stay short."""
        from hubsim.patches.stepfunctions import running_executions

        deadline = time.monotonic() + timeout
        while True:
            if not self.outputs:
                return []
            if not running_executions(HUB_ACCOUNT, self.region) or time.monotonic() > deadline:
                executions = self.executions()
                running = [e for e in executions if e["status"] == "RUNNING"]
                if not running:
                    return executions
                if time.monotonic() > deadline:
                    if raise_on_timeout:
                        raise EngineError(f"{len(running)} executions still RUNNING after {timeout}s: {running[0]['executionArn']}")
                    return executions
            time.sleep(poll)
            poll = min(poll * 1.5, 0.25)

    def history(self, execution_arn: str) -> list[dict]:
        sfn = self.client("stepfunctions")
        events = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events
