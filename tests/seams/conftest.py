"""Shared fixtures and helpers of the seam tests (tests/seams/test_<patch>.py).

`engine` is moto with the hubsim patches and nothing deployed (fresh backends for every test);
seam files import the helpers below with `from .conftest import ...` (tests/seams is a package, so
this conftest is `seams.conftest` and does not shadow tests/conftest.py, which the rest of the
suite imports as `conftest`).
"""
import io
import json
import re
import sys
import textwrap
import threading
import time
import types
import warnings
import zipfile

import pytest


HUB_ACCOUNT = "123456789012"
SPOKE_ACCOUNT = "222222222222"
ISO_8601_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def engine():
    """moto with the hubsim patches, and nothing deployed (fresh backends for every test)."""
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore", message="Tried to parse")
    local = LocalHub().start(deploy_hub=False)
    try:
        yield local
    finally:
        local.stop()


def _wait_for_execution(sfn, execution_arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{execution_arn} still RUNNING after {timeout}s"
        time.sleep(0.05)


def _template(tmp_path, text: str):
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text))
    return path


HANDLER_CODE = '''
import os
import time

import seam_rendezvous


class ArtifactMissing(Exception):
    """A handler's own exception: its class name is the errorType Step Functions matches."""


def handler(event, context):
    if "missing" in event:
        raise ArtifactMissing(f"artifact {event['missing']} is not in the bucket")
    print(f"{context.function_name}: {event['a']} + {event['b']} for {os.environ['TENANT']}")
    return {"sum": event["a"] + event["b"], "tenant": os.environ["TENANT"], "function": context.function_name}


def sleepy(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}


def rendezvous(event, context):
    """Reads TENANT, waits until the other invocation is running too, reads TENANT again."""
    before = os.environ["TENANT"]
    seam_rendezvous.barrier.wait()
    return {"before": before, "after": os.environ["TENANT"], "region": os.environ["AWS_REGION"]}
'''


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER_CODE)
    return buffer.getvalue()


def _lambda_role(engine) -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return engine.client("iam").create_role(RoleName="seam-lambda", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _create_function(engine, name: str, handler: str, tenant: str, role: str) -> None:
    engine.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Timeout=30,
        Code={"ZipFile": _code_zip()}, Environment={"Variables": {"TENANT": tenant}},
    )


@pytest.fixture
def rendezvous(monkeypatch):
    """A barrier the handlers import (all invocations share this process); a timeout, never a hang."""
    module = types.SimpleNamespace(barrier=threading.Barrier(2, timeout=10))
    monkeypatch.setitem(sys.modules, "seam_rendezvous", module)
    return module


def _bedrock_import_role(engine, name: str) -> str:
    """The Bedrock service role of an import: the emulated Bedrock assumes it as bedrock.amazonaws.com."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "bedrock.amazonaws.com"},
    }]}
    iam = engine.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="read-artifacts", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))
    return arn


def _grant_bucket(s3, bucket: str, role_arn: str) -> None:
    """The bucket policy a research account gives the import role (cross-account: both sides must allow)."""
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
