"""Bedrock model invocation logging to S3: a record of every Converse and InvokeModel call, in the
layout Bedrock documents, under the key Bedrock uses, written only where the bucket policy lets the
Bedrock service write.

moto 5.2.5 keeps the account's logging configuration (Put/Get/DeleteModelInvocationLoggingConfiguration)
but writes nothing. Bedrock, with `loggingConfig.s3Config` set, delivers the invocations of the
account and Region as gzip JSON objects under
`<keyPrefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/` ("Monitor
model invocation using CloudWatch Logs and Amazon S3",
https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html). Each record:
schemaType `ModelInvocationLog`, schemaVersion `1.0`, timestamp, accountId, identity.arn (the caller
as STS issued it: an assumed-role session ARN), region, requestId, operation (Converse,
InvokeModel), modelId (as the caller passed it), input {inputContentType, inputTokenCount},
output {outputContentType, outputTokenCount}, and `requestMetadata` when the Converse call set it.
Prompts and answers (inputBodyJson/outputBodyJson) are left out here: the hub enables
`textDataDeliveryEnabled` false, so no prompt reaches its log bucket.

Bedrock writes as the service principal bedrock.amazonaws.com with aws:SourceAccount and
aws:SourceArn (arn:aws:bedrock:<region>:<account>:*); the bucket policy must allow it (the user
guide's example policy), or nothing is written (as on AWS, where delivery fails). The emulation
writes one object per call (Bedrock batches several records per object: readers must, and the hub's
do, read every record of every object). The object's time is the runtime's clock (simulated in a
budget story, hubsim.patches.bedrock_runtime.set_clock).
"""
import gzip
import json
import uuid

from moto.bedrock.models import bedrock_backends
from moto.s3.models import s3_backends

from hubsim import iam_policy
from hubsim.patches import Patch

PATCH = Patch(
    name="bedrock-invocation-logs",
    replaces="moto.bedrock (the logging configuration is kept, no invocation is ever logged)",
    covered_by="tests/seams/test_invocation_logs.py",
)

SERVICE = "bedrock.amazonaws.com"


def _bucket_allows(bucket_name: str, key: str, account: str, region: str) -> bool:
    """The bucket policy's statements naming the Bedrock service (and its Deny statements for anyone),
    evaluated for s3:PutObject with the context Bedrock sends."""
    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None:
        return False
    partition, owner_account = owner
    bucket = s3_backends[owner_account][partition].buckets.get(bucket_name)
    if bucket is None or not bucket.policy:
        return False
    policy = json.loads(bucket.policy)
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]

    def services(statement) -> list:
        principal = statement.get("Principal")
        named = principal.get("Service", []) if isinstance(principal, dict) else []
        return named if isinstance(named, list) else [named]

    named = [{**s, "Principal": "*"} for s in statements if SERVICE in services(s)]
    named += [s for s in statements if s.get("Effect") == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})]
    if not named:
        return False
    request = iam_policy.Request(action="s3:PutObject", resource=f"arn:aws:s3:::{bucket_name}/{key}", principal_arn=SERVICE,
                                 principal_account=account, resource_account=owner_account,
                                 context={"aws:SourceAccount": account, "aws:SourceArn": f"arn:aws:bedrock:{region}:{account}:*",
                                          "aws:SecureTransport": "true", "s3:x-amz-acl": "bucket-owner-full-control"})
    allow_all = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}]
    return iam_policy.evaluate(request, allow_all, resource_policy={"Version": "2012-10-17", "Statement": named},
                               resource_policy_required=True).allowed


def record(account: str, region: str, *, caller_arn: str, operation: str, model_id: str, input_tokens: int,
           output_tokens: int, when, request_metadata: dict | None = None) -> dict | None:
    """Log one call of `account`/`region` if its logging configuration sends to S3; the record written, or None."""
    config = (bedrock_backends[account][region].get_model_invocation_logging_configuration() or {})
    s3_config = config.get("s3Config") or {}
    if not s3_config.get("bucketName"):
        return None
    request_id = str(uuid.uuid4())
    entry = {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
             "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
             "accountId": account, "identity": {"arn": caller_arn}, "region": region, "requestId": request_id,
             "operation": operation, "modelId": model_id,
             "input": {"inputContentType": "application/json", "inputTokenCount": input_tokens},
             "output": {"outputContentType": "application/json", "outputTokenCount": output_tokens}}
    if request_metadata:
        entry["requestMetadata"] = request_metadata
    prefix = s3_config.get("keyPrefix", "").strip("/")
    key = "/".join(p for p in (prefix, f"AWSLogs/{account}/BedrockModelInvocationLogs/{region}", when.strftime("%Y/%m/%d/%H"),
                               f"{when.strftime('%Y%m%dT%H%M%S')}{when.microsecond:06d}Z_{request_id}.json.gz") if p)
    bucket = s3_config["bucketName"]
    if not _bucket_allows(bucket, key, account, region):
        return None  # Bedrock's delivery fails: nothing is written
    partition, owner_account = s3_backends.bucket_accounts[bucket]
    s3_backends[owner_account][partition].put_object(bucket, key, gzip.compress((json.dumps(entry) + "\n").encode()))
    return entry


def apply() -> None:
    """Nothing to replace: hubsim.patches.bedrock_runtime calls `record` after each answered call."""
