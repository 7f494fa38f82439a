"""The deployed stack the end-to-end tests run against, found through its outputs (skipped without one)."""
import os

import pytest

STACK = os.environ.get("GENAI_HUB_E2E_STACK")


@pytest.fixture(scope="module")
def deployed():
    if not STACK:
        pytest.skip("set GENAI_HUB_E2E_STACK to the name of a deployed hub stack to run the end-to-end tests")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        pytest.skip(f"no working AWS credentials: {exc}")
    from hubctl.stack import connect

    return connect(STACK)
