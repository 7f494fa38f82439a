"""The local engine: the hub stack and its spoke accounts on moto, in this process.

    with LocalHub() as hub:
        hub.deploy_tenant_spoke("222222222222", external_id="...")
        hub.put_event("TenantOnboardingRequested", detail)
        hub.wait_for_executions()

Everything goes through the real APIs: boto3 clients of the emulation, the SAM template, the ASL
files and the handlers. Only hubsim.patches reaches into moto.
"""
import json
import os
import threading
import time
from pathlib import Path

import boto3
from moto import mock_aws

from hubsim import deploy, faults, patches, runtime

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

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, deploy_hub: bool = True) -> "LocalHub":
        runtime.install()
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        patches.apply_all()
        _warm_service_models()
        faults.clear()
        if deploy_hub:
            self.deploy_hub()
        return self

    def stop(self) -> None:
        faults.clear()
        if self._mock is not None:
            self.wait_for_executions(timeout=30, raise_on_timeout=False)
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
        # As the README's `aws s3 sync datasets/ s3://<EvaluationBucketName>/datasets/` does on AWS.
        s3 = self.client("s3")
        for dataset in sorted((self.root / "datasets").glob("*.jsonl")):
            s3.put_object(Bucket=self.outputs["EvaluationBucketName"], Key=f"datasets/{dataset.name}", Body=dataset.read_bytes())
        return self.outputs

    def account_session(self, account_id: str) -> boto3.session.Session:
        """A session acting in `account_id` (moto switches account on AssumeRole)."""
        if account_id == HUB_ACCOUNT:
            return boto3.session.Session(region_name=self.region)
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/hubsim-account-admin", RoleSessionName="hubsim"
        )["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=self.region,
        )

    def tenant_session(self, tenant_id: str, account_id: str) -> boto3.session.Session:
        """A session as the tenant's application: its invoke role in its spoke account, assumed from
        within that account (the role trusts the account root), as the tenant's own code would."""
        in_spoke = self.account_session(account_id)
        role_arn = in_spoke.client("iam").get_role(RoleName=f"genai-hub-{tenant_id}-invoke")["Role"]["Arn"]
        creds = in_spoke.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=f"{tenant_id}-app")["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=self.region,
        )

    def deploy_tenant_spoke(self, account_id: str, external_id: str) -> dict:
        """spokes/tenant.yaml in its own account, trusting this hub's provisioner role."""
        outputs = deploy.deploy(
            self.root / "spokes" / "tenant.yaml", "genai-hub-tenant-spoke",
            parameters={"HubProvisionerRoleArn": self.outputs["SpokeProvisionerRoleArn"], "ExternalId": external_id},
            session=self.account_session(account_id), region=self.region,
        )
        self.spokes[account_id] = outputs
        return outputs

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
        self.research = deploy.deploy(self.root / "spokes" / "research.yaml", "genai-hub-research", parameters=parameters,
                                      session=self.account_session(account_id), region=self.region)
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
