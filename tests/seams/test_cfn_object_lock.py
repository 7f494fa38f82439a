"""Seam tests of hubsim/patches/cfn_object_lock.py: a bucket CloudFormation creates with Object Lock
locks its versions as its ObjectLockConfiguration says, and a KMS key with KeySpec/KeyUsage is that
kind of key.

Each test deploys a small template through the emulation's CloudFormation and reads back, with the
account's own clients, what CloudFormation should have configured (as the hub's audit digest bucket
and signing key in template.yaml), so that a moto upgrade that changes what the patch wraps fails here.
"""
import datetime
import hashlib
import json

import pytest
from botocore.exceptions import ClientError

LOCKED_BUCKET = {
    "Parameters": {"Days": {"Type": "Number", "Default": 30}},
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
        "ObjectLockEnabled": True,
        "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": {"Ref": "Days"}}}},
        "VersioningConfiguration": {"Status": "Enabled"}}},
        "Plain": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}}},
    "Outputs": {"Bucket": {"Value": {"Ref": "Bucket"}}, "Plain": {"Value": {"Ref": "Plain"}}},
}


def _outputs(cfn, stack: str) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}


def test_a_bucket_from_cloudformation_locks_its_versions_as_configured(engine):
    cfn, s3 = engine.client("cloudformation"), engine.client("s3")
    cfn.create_stack(StackName="seam-lock", TemplateBody=json.dumps(LOCKED_BUCKET))
    bucket, plain = (_outputs(cfn, "seam-lock")[k] for k in ("Bucket", "Plain"))

    # The configuration is the template's (a Ref to a Number parameter arrives as a string)
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert rule["ObjectLockEnabled"] == "Enabled"
    assert rule["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE" and rule["Rule"]["DefaultRetention"]["Days"] == 30
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    # A new version gets the default retention: COMPLIANCE until 30 days from its write
    version = s3.put_object(Bucket=bucket, Key="digests/a.json", Body=b"{}")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="digests/a.json", VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    assert abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()) < 120
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key="digests/a.json", VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # A bucket without ObjectLockEnabled has no Object Lock (moto's answer, as S3's)
    with pytest.raises(ClientError) as missing:
        s3.get_object_lock_configuration(Bucket=plain)
    assert missing.value.response["Error"]["Code"] == "ObjectLockConfigurationNotFoundError"


def test_a_signing_key_from_cloudformation_signs(engine):
    cfn, kms = engine.client("cloudformation"), engine.client("kms")
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Account", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                                      "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
    template = {"Resources": {
        "Signing": {"Type": "AWS::KMS::Key", "Properties": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY",
                                                            "Description": "signs", "KeyPolicy": policy}},
        "Symmetric": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy}}},
        "Outputs": {"Signing": {"Value": {"Fn::GetAtt": ["Signing", "Arn"]}}, "Symmetric": {"Value": {"Ref": "Symmetric"}}}}
    cfn.create_stack(StackName="seam-key", TemplateBody=json.dumps(template))
    signing, symmetric = (_outputs(cfn, "seam-key")[k] for k in ("Signing", "Symmetric"))

    metadata = kms.describe_key(KeyId=signing)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"], metadata["Description"]) == ("ECC_NIST_P256", "SIGN_VERIFY", "signs")
    assert metadata["SigningAlgorithms"] == ["ECDSA_SHA_256"]
    assert json.loads(kms.get_key_policy(KeyId=signing, PolicyName="default")["Policy"]) == policy
    digest = hashlib.sha256(b"document").digest()
    signature = kms.sign(KeyId=signing, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    assert kms.verify(KeyId=signing, Message=digest, MessageType="DIGEST", Signature=signature,
                      SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True

    # A key without KeySpec/KeyUsage stays moto's symmetric key
    metadata = kms.describe_key(KeyId=symmetric)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
