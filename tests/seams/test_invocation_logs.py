"""Seam tests of hubsim/patches/invocation_logs.py: with S3 invocation logging configured, each call is
a record in Bedrock's layout under Bedrock's key, written only if the bucket policy lets Bedrock write."""
import gzip
import json

import boto3

from .conftest import HUB_ACCOUNT

NOVA = "amazon.nova-pro-v1:0"


def _policy(bucket: str, source_account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/logs/AWSLogs/{HUB_ACCOUNT}/BedrockModelInvocationLogs/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": source_account},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:*"}}}]})


def _records(s3, bucket: str) -> list[dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return [(k, json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))) for k in keys]


def test_each_call_is_logged_in_bedrocks_layout_where_the_bucket_policy_lets_bedrock_write(engine):
    s3, bedrock = engine.client("s3"), engine.client("bedrock")
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    s3.create_bucket(Bucket="seam-invocation-logs")
    bedrock.put_model_invocation_logging_configuration(loggingConfig={
        "s3Config": {"bucketName": "seam-invocation-logs", "keyPrefix": "logs"}, "textDataDeliveryEnabled": False})

    # Without a bucket policy for Bedrock, nothing is delivered
    runtime.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "one two three"}]}])
    assert _records(s3, "seam-invocation-logs") == []
    # nor with one that names another source account (the confused-deputy condition)
    s3.put_bucket_policy(Bucket="seam-invocation-logs", Policy=_policy("seam-invocation-logs", "999999999999"))
    runtime.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "one two three"}]}])
    assert _records(s3, "seam-invocation-logs") == []

    # With the user guide's policy, each call is a record under the documented key
    s3.put_bucket_policy(Bucket="seam-invocation-logs", Policy=_policy("seam-invocation-logs", HUB_ACCOUNT))
    runtime.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "one two three"}]}],
                     requestMetadata={"team": "seam"})
    [(key, record)] = _records(s3, "seam-invocation-logs")
    assert key.startswith(f"logs/AWSLogs/{HUB_ACCOUNT}/BedrockModelInvocationLogs/us-east-1/") and key.endswith(".json.gz")
    assert (record["schemaType"], record["schemaVersion"], record["operation"], record["modelId"]) == (
        "ModelInvocationLog", "1.0", "Converse", NOVA)
    assert record["accountId"] == HUB_ACCOUNT and record["identity"]["arn"].startswith("arn:aws:")
    assert record["input"]["inputTokenCount"] == 3 and record["output"]["outputTokenCount"] > 0
    assert record["requestMetadata"] == {"team": "seam"} and record["timestamp"].endswith("Z")
