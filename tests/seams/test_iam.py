"""Seam tests of hubsim/patches/iam.py: roles found by name and ARN through the role index.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import SPOKE_ACCOUNT


def test_roles_are_found_by_name_and_arn_after_create_and_delete(engine):
    from moto.iam.models import iam_backends

    iam = engine.account_session(SPOKE_ACCOUNT).client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    for n in range(30):
        iam.create_role(RoleName=f"tenant-{n:02d}", Path="/genai-hub/", AssumeRolePolicyDocument=trust)
    # Found by name (every IAM call on a role) and by ARN (moto's last-used bookkeeping of assumed roles)
    role = iam.get_role(RoleName="tenant-17")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{SPOKE_ACCOUNT}:role/genai-hub/tenant-17"
    backend = iam_backends[SPOKE_ACCOUNT]["aws"]
    assert backend.get_role_by_arn(role["Arn"]).name == "tenant-17"
    # A deleted role is gone, and a new one under the same name is the new one, not the indexed old one
    iam.delete_role(RoleName="tenant-17")
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName="tenant-17")
    iam.create_role(RoleName="tenant-17", Path="/other/", AssumeRolePolicyDocument=trust)
    assert iam.get_role(RoleName="tenant-17")["Role"]["Arn"].endswith(":role/other/tenant-17")
    with pytest.raises(Exception, match="not found"):
        backend.get_role_by_arn(role["Arn"])  # the old path: no such role any more
    # Duplicates are still refused, and a call with assumed-role credentials still works (last-used bookkeeping)
    with pytest.raises(ClientError, match="EntityAlreadyExists"):
        iam.create_role(RoleName="tenant-03", AssumeRolePolicyDocument=trust)
    arn = iam.get_role(RoleName="tenant-03")["Role"]["Arn"]
    iam.put_role_policy(RoleName="tenant-03", PolicyName="read-itself", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": arn}]}))
    assumed = engine.account_session(SPOKE_ACCOUNT).client("sts").assume_role(RoleArn=arn, RoleSessionName="seam")["Credentials"]
    as_role = boto3.client("iam", region_name="us-east-1", aws_access_key_id=assumed["AccessKeyId"],
                           aws_secret_access_key=assumed["SecretAccessKey"], aws_session_token=assumed["SessionToken"])
    assert as_role.get_role(RoleName="tenant-03")["Role"]["RoleName"] == "tenant-03"
    assert "RoleLastUsed" in iam.get_role(RoleName="tenant-03")["Role"]
