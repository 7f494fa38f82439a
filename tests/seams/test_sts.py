"""Seam tests of hubsim/patches/sts.py: AssumeRole honours the trust policy.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import HUB_ACCOUNT, SPOKE_ACCOUNT


def test_assume_role_requires_external_id_of_trust_policy(engine):
    # Given a role in the spoke account that trusts the hub account with an ExternalId
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-7f3a"}},
    }]}
    spoke_iam = engine.client("iam", account_id=SPOKE_ACCOUNT)
    role_arn = spoke_iam.create_role(RoleName="seam-spoke", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert role_arn == f"arn:aws:iam::{SPOKE_ACCOUNT}:role/seam-spoke"
    sts = engine.client("sts")
    assert sts.get_caller_identity()["Account"] == HUB_ACCOUNT

    # The right ExternalId: credentials that act in the spoke account
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="seam", ExternalId="ext-7f3a")["Credentials"]
    identity = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    ).get_caller_identity()
    assert identity["Account"] == SPOKE_ACCOUNT
    assert identity["Arn"] == f"arn:aws:sts::{SPOKE_ACCOUNT}:assumed-role/seam-spoke/seam"

    # A wrong or missing ExternalId, or an ExternalId for a role that does not exist: AccessDenied
    for call in (
        {"RoleArn": role_arn, "ExternalId": "ext-wrong"},
        {"RoleArn": role_arn},
        {"RoleArn": f"arn:aws:iam::{SPOKE_ACCOUNT}:role/seam-no-such-role", "ExternalId": "ext-7f3a"},
    ):
        with pytest.raises(ClientError) as denied:
            sts.assume_role(RoleSessionName="seam", **call)
        assert denied.value.response["Error"]["Code"] == "AccessDenied", call
