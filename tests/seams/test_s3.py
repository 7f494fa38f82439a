"""Seam tests of hubsim/patches/s3.py: what spokes/research.yaml needs of S3, KMS, SQS and CloudFormation,
and bucket and queue policies from CloudFormation.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from hubsim import deploy

from .conftest import HUB_ACCOUNT, ISO_8601_UTC, _template


def _session_of_role(engine, role_arn: str, *statements: dict) -> boto3.session.Session:
    """A session of `role_arn` in the hub account (created, trusting the account, allowed what
    `statements` say, if it is not there)."""
    iam = engine.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    if name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{role_arn.split(':')[4]}:root"}, "Action": "sts:AssumeRole"}]}))
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="seam", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **st} for st in statements]}))
    credentials = engine.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="seam")["Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name="us-east-1")


RESEARCH_ACCOUNT = "111111111111"
OWN_TAG = f"genai-hub-submitted-by={RESEARCH_ACCOUNT}"  # the research account's root: its aws:userid is the account id
HUB_IMPORT_ROLE = f"arn:aws:iam::{HUB_ACCOUNT}:role/genai-hub-model-import"
HUB_VERIFIER_ROLE = f"arn:aws:iam::{HUB_ACCOUNT}:role/genai-hub-grants-verifier"


def _hub_bus_capturing_s3_events(engine) -> tuple[str, str]:
    """A hub bus (open to the research account) whose rule copies every "Object Created" to a queue."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_arn = events.create_event_bus(Name="genai-hub-bus")["EventBusArn"]
    events.put_permission(EventBusName="genai-hub-bus", Action="events:PutEvents", Principal=RESEARCH_ACCOUNT, StatementId="research")
    queue_url = sqs.create_queue(QueueName="seam-hub-s3-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="seam-import-manifests", EventBusName="genai-hub-bus",
                    EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="seam-import-manifests", EventBusName="genai-hub-bus", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return bus_arn, queue_url


def _drain(sqs, queue_url: str) -> list[dict]:
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", []):
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_research_spoke_forwards_import_manifests_to_the_hub_bus(engine):
    # Given the hub's bus, and spokes/research.yaml deployed in the research account
    bus_arn, hub_queue = _hub_bus_capturing_s3_events(engine)
    research = engine.account_session(RESEARCH_ACCOUNT)
    outputs = deploy.deploy(deploy.ROOT / "spokes" / "research.yaml", "genai-hub-research", session=research, parameters={
        "HubAccountId": HUB_ACCOUNT, "HubEventBusArn": bus_arn, "HubImportRoleArn": HUB_IMPORT_ROLE,
        "HubGrantsVerifierRoleArn": HUB_VERIFIER_ROLE, "ExternalId": "ext-research-7f3a",
    })
    assert set(outputs) == {"ArtifactBucketName", "ArtifactKeyArn", "GrantsReaderRoleArn", "ForwardImportManifestsRuleArn"}
    bucket, key_arn = outputs["ArtifactBucketName"], outputs["ArtifactKeyArn"]
    assert bucket == f"genai-research-artifacts-{RESEARCH_ACCOUNT}"
    assert outputs["GrantsReaderRoleArn"] == f"arn:aws:iam::{RESEARCH_ACCOUNT}:role/genai-hub-grants-reader"
    s3, hub_sqs = research.client("s3"), engine.client("sqs")

    # When a model's config and then its import manifest are uploaded (the bucket policy's
    # DenyInsecureTransport does not apply: SDK requests are over TLS), the manifest tagged with its
    # uploader's own UserId (the account's root here: the account id), as DenyManifestWithoutVerifiedSubmitter requires
    s3.put_object(Bucket=bucket, Key="models/m1/config.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="models/m1/import.json", Body=json.dumps({"model": "m1"}).encode(), Tagging=OWN_TAG)
    with pytest.raises(ClientError) as untagged:
        s3.put_object(Bucket=bucket, Key="models/m1/import.json", Body=b"{}")
    assert untagged.value.response["Error"]["Code"] == "AccessDenied"
    assert json.loads(s3.get_object(Bucket=bucket, Key="models/m1/import.json")["Body"].read()) == {"model": "m1"}

    # Then exactly the manifest's "Object Created" reached the hub bus, as the research account's event
    [message] = _drain(hub_sqs, hub_queue)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["detail"]["bucket"]["name"] == bucket
    assert event["detail"]["object"]["key"] == "models/m1/import.json"
    assert event["account"] == RESEARCH_ACCOUNT and event["region"] == "us-east-1"
    assert event["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert ISO_8601_UTC.match(event["time"]), event["time"]
    # and every S3 event has its own id
    s3.put_object(Bucket=bucket, Key="models/m2/import.json", Body=b"{}", Tagging=OWN_TAG)
    [second] = [json.loads(m["Body"]) for m in _drain(hub_sqs, hub_queue)]
    assert second["detail"]["object"]["key"] == "models/m2/import.json" and second["id"] != event["id"]

    # The bucket: policy granting the hub's import role, SSE-KMS with the key, and the other settings
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"AllowHubImportRoleRead", "AllowHubImportRoleList", "DenyManifestWithoutVerifiedSubmitter",
                               "DenyInsecureTransport"}
    for sid, action, resource in (("AllowHubImportRoleRead", ["s3:GetObject", "s3:GetObjectTagging"], f"arn:aws:s3:::{bucket}/*"),
                                  ("AllowHubImportRoleList", "s3:ListBucket", f"arn:aws:s3:::{bucket}")):
        assert statements[sid]["Effect"] == "Allow" and statements[sid]["Principal"] == {"AWS": HUB_IMPORT_ROLE}
        assert (statements[sid]["Action"], statements[sid]["Resource"]) == (action, resource)
    assert statements["DenyManifestWithoutVerifiedSubmitter"]["Condition"] == {
        "StringNotEquals": {"s3:RequestObjectTag/genai-hub-submitted-by": "${aws:userid}"}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    # The key: its policy (a JSON string, as on AWS) lets the import role decrypt through S3 only
    kms = research.client("kms")
    key_policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    decrypt = {s["Sid"]: s for s in key_policy["Statement"]}["AllowHubImportRoleDecrypt"]
    assert decrypt["Principal"] == {"AWS": HUB_IMPORT_ROLE} and decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True

    # The hub's verifier reads both policies through the grants reader role, with the ExternalId
    # (as the verifier role: the reader's trust names that role, not the hub account's root)
    sts = _session_of_role(engine, HUB_VERIFIER_ROLE, {"Action": "sts:AssumeRole",  # as the hub's verifier role
                                                       "Resource": f"arn:aws:iam::{RESEARCH_ACCOUNT}:role/genai-hub-grants-reader"}).client("sts")
    credentials = sts.assume_role(RoleArn=outputs["GrantsReaderRoleArn"], RoleSessionName="verifier", ExternalId="ext-research-7f3a")["Credentials"]
    reader = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                   aws_session_token=credentials["SessionToken"], region_name="us-east-1")
    assert json.loads(reader.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert json.loads(reader.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]) == key_policy
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=outputs["GrantsReaderRoleArn"], RoleSessionName="verifier", ExternalId="ext-wrong-000")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    # When the hub bus is gone, a manifest lands in the rule's DLQ, whose policy admits only that rule
    engine.client("events").remove_targets(Rule="seam-import-manifests", EventBusName="genai-hub-bus", Ids=["queue"])
    engine.client("events").delete_rule(Name="seam-import-manifests", EventBusName="genai-hub-bus")
    engine.client("events").delete_event_bus(Name="genai-hub-bus")
    s3.put_object(Bucket=bucket, Key="models/m3/import.json", Body=b"{}", Tagging=OWN_TAG)
    dlq_url = research.client("cloudformation").describe_stack_resource(
        StackName="genai-hub-research", LogicalResourceId="ForwardDlq")["StackResourceDetail"]["PhysicalResourceId"]
    research_sqs = research.client("sqs")
    [dead] = _drain(research_sqs, dlq_url)
    assert json.loads(dead["Body"])["detail"]["object"]["key"] == "models/m3/import.json"
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "ResourceNotFoundException"
    dlq_policy = json.loads(research_sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = dlq_policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": outputs["ForwardImportManifestsRuleArn"]}}


POLICIES_TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Queue:
        Type: AWS::SQS::Queue
      QueuePolicy:
        Type: AWS::SQS::QueuePolicy
        Properties:
          Queues: [!Ref Queue]
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: events.amazonaws.com}
                Action: sqs:SendMessage
                Resource: !GetAtt Queue.Arn
      Bucket:
        Type: AWS::S3::Bucket
        DeletionPolicy: Retain
        Properties:
          BucketName: !Sub ${AWS::StackName}-bucket
      BucketPolicy:
        Type: AWS::S3::BucketPolicy
        Properties:
          Bucket: !Ref Bucket
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Deny
                Principal: "*"
                Action: s3:DeleteObject
                Resource: !Sub ${Bucket.Arn}/*
    Outputs:
      QueueUrl: {Value: !Ref Queue}
      QueuePolicyId: {Value: !Ref QueuePolicy}
      BucketName: {Value: !Ref Bucket}
"""


def test_queue_and_bucket_policies_from_cloudformation_are_applied_and_removed(engine, tmp_path):
    outputs = deploy.deploy(_template(tmp_path, POLICIES_TEMPLATE), "seam-policies")
    sqs, s3, cfn = engine.client("sqs"), engine.client("s3"), engine.client("cloudformation")

    # Both policies are resources of the stack, with the physical ids AWS gives them
    resources = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="seam-policies")["StackResourceSummaries"]}
    assert resources["BucketPolicy"]["PhysicalResourceId"] == outputs["BucketName"] == "seam-policies-bucket"
    assert resources["QueuePolicy"]["PhysicalResourceId"] == outputs["QueuePolicyId"]
    assert outputs["QueuePolicyId"].startswith("seam-policies-QueuePolicy-")

    # and are in force: the queue's Policy attribute, the bucket's policy (enforced by moto)
    queue_policy = json.loads(sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert queue_policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert json.loads(s3.get_bucket_policy(Bucket=outputs["BucketName"])["Policy"])["Statement"][0]["Action"] == "s3:DeleteObject"
    s3.put_object(Bucket=outputs["BucketName"], Key="kept", Body=b"1")
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=outputs["BucketName"], Key="kept")

    # Deleting the stack removes the bucket policy from the retained bucket
    cfn.delete_stack(StackName="seam-policies")
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=outputs["BucketName"])
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    s3.delete_object(Bucket=outputs["BucketName"], Key="kept")
