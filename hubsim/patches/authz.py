"""IAM on every call: each request to an emulated service is authorised as AWS authorises it.

moto checks IAM only when `INITIAL_NO_AUTH_ACTION_COUNT` is set, and then with its own evaluator
(`moto.iam.access_control.IAMRequest.check_action_permitted`: Allow/Deny over identity policies,
no condition operators beyond a few, no resource policies, no session policies, no boundaries, no
cross-account rule). The replacement of `ActionAuthenticatorMixin._authenticate_and_authorize_action`
(the hook every moto response calls before its operation, S3's included) evaluates every request
with hubsim.iam_policy, the evaluator the tenant path and STS use, over:

- the principal as AWS verifies it (hubsim.principals: a role session's role policies, session
  policy, tags and issue time; a user's and its groups' policies; the account root);
- the IAM action of the operation (its service prefix and, where IAM names it differently, the
  action of the Service Authorization Reference: s3:ListBucket for ListObjectsV2 and HeadBucket,
  lambda:InvokeFunction for Invoke, one action per item of a DynamoDB transaction);
- the resource ARN each action is authorised on, read from the request;
- the resource-based policy where the service has one (S3 bucket policy, KMS key policy, SQS queue
  policy, SNS topic policy, EventBridge bus policy, Lambda function policy); a KMS key policy must
  allow (directly or by delegating to the account), as AWS requires:
  https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html
- the request context: aws:SecureTransport (SDK calls are TLS), aws:RequestedRegion, the
  principal's keys (aws:userid among them, which policy variables like ${aws:userid} take),
  aws:ResourceTag/* of Bedrock resources, aws:RequestTag/* and aws:TagKeys of tagging calls,
  s3:prefix of ListBucket, and s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys of the object
  tags a request sets: PutObject and CreateMultipartUpload (x-amz-tagging), CopyObject with
  x-amz-tagging-directive REPLACE, PutObjectTagging (its XML body). A PutObject that sets tags also
  needs s3:PutObjectTagging, as the PutObject API reference says; a copy with the default COPY
  directive carries no request tags (the source's are copied, unchecked here).
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
and the Service Authorization Reference for each service's actions and resource types
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
A denied call answers AccessDenied (AccessDeniedException, AuthorizationError: each service's code)
with AWS's message. STS authorises AssumeRole itself (hubsim.patches.sts), bedrock-runtime its
invocations (hubsim.patches.bedrock_runtime); GetCallerIdentity needs no permission.

Every decision is counted per policy statement that allowed it (`allowed_by`), so the suite can
report the statements of the hub's roles that allowed nothing (tests/test_least_privilege.py).
`HUBSIM_IAM=off` turns enforcement off for debugging; the test command and the demo refuse it.
"""
from __future__ import annotations

import json
import os
import re
import threading
import warnings
import xml.etree.ElementTree as ElementTree
from collections import Counter
from urllib.parse import parse_qs, unquote, urlparse

from moto.core import authorization, responses
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from hubsim import iam_policy, principals
from hubsim.patches import Patch

PATCH = Patch(
    name="iam-on-every-call",
    replaces="moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action "
             "(no check unless INITIAL_NO_AUTH_ACTION_COUNT; then moto's evaluator without conditions, "
             "resource policies, session policies or boundaries)",
    covered_by="tests/seams/test_authz.py, tests/seams/test_s3_request_tags.py",
)

ENV = "HUBSIM_IAM"
_original = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action
_original_call = responses.BaseResponse.call_action
_lock = threading.Lock()
# (role name, policy name, statement index) -> calls it allowed; denials as (principal, action, resource)
allowed_by: Counter = Counter()
denials: list[tuple[str, str, str]] = []

# The signing name of a request is the IAM service prefix, except:
_PREFIX = {"monitoring": "cloudwatch"}
# Services that authorise in their own patch, or need no permission here.
_SELF_AUTHORISED = {"sts", "bedrock-runtime"}
# The error code each service answers a denied call with (botocore's models; query services: AccessDenied).
_CODES = {"sns": "AuthorizationError", "s3": "AccessDenied", "iam": "AccessDenied", "sqs": "AccessDenied",
          "cloudwatch": "AccessDenied"}


def mode() -> str:
    """enforce (the default), record (decide and log to HUBSIM_IAM_LOG, refuse nothing: for finding
    what a change needs), or off (debugging only)."""
    value = os.environ.get(ENV, "enforce").lower()
    return "off" if value in ("off", "0", "false") else "record" if value == "record" else "enforce"


def enabled() -> bool:
    return mode() != "off"


class AccessDenied(ServiceException):
    code = "AccessDeniedException"

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


# --- what a request asks for ----------------------------------------------------------------------
def _params(self) -> dict:
    """The operation's parameters: a JSON body, a query string, or the URI labels of a REST API."""
    parsed = getattr(self, "params", None)
    params: dict = dict(parsed) if isinstance(parsed, dict) else {}
    if isinstance(self.body, dict):  # DynamoDB's handler puts its parsed parameters there
        params.update(self.body)
    body = "" if isinstance(self.body, dict) else self.body if isinstance(self.body, str) else (self.body or b"").decode("utf-8", "replace")
    if body.strip().startswith("{"):
        try:
            params.update(json.loads(body))
        except ValueError:
            pass
    for key, values in (getattr(self, "querystring", None) or {}).items():
        if isinstance(values, list) and values and key not in params and not key.startswith("{"):
            params[key] = values[0]
    for key, value in (getattr(self, "uri_match", None) or {}).items():
        params.setdefault(key, unquote(value) if isinstance(value, str) else value)
    return params


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _function_arn(name: str, region: str, account: str) -> str:
    """A function name, partial ARN (account:function:name) or ARN, without its qualifier."""
    if name.startswith("arn:"):
        return ":".join(name.split(":")[:7])
    parts = name.split(":")
    if len(parts) >= 3 and parts[1] == "function":
        return _arn("lambda", region, parts[0], f"function:{parts[2]}")
    return _arn("lambda", region, account, f"function:{parts[0]}")


def _queue_arn(url: str, region: str, account: str) -> str:
    path = urlparse(url).path.strip("/").split("/") if "://" in url else [account, url]
    return _arn("sqs", region, path[0] if len(path) > 1 else account, path[-1])


def _table_arn(name: str, region: str, account: str) -> str:
    return name if name.startswith("arn:") else _arn("dynamodb", region, account, f"table/{name}")


def _dynamodb(action: str, p: dict, region: str, account: str) -> list[tuple[str, str]]:
    if action in ("TransactWriteItems", "TransactGetItems"):  # each item is authorised as its own action
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
                 "Get": "GetItem"}
        return [(f"dynamodb:{kinds[kind]}", _table_arn(body["TableName"], region, account))
                for item in p.get("TransactItems", []) for kind, body in item.items()]
    if action in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{action}", _table_arn(t, region, account)) for t in p.get("RequestItems", {})]
    table = p.get("TableName") or p.get("ResourceArn") or "*"
    arn = _table_arn(table, region, account) if table != "*" else "*"
    if p.get("IndexName") and arn != "*":
        arn += f"/index/{p['IndexName']}"
    return [(f"dynamodb:{action}", arn)]


def _bedrock(self, action: str, p: dict, region: str, account: str) -> list[tuple[str, str]]:
    from hubsim.patches import bedrock as bedrock_patch

    backend = self.bedrock_backend

    def found(finder, identifier: str, kind: str) -> str:
        if identifier.startswith("arn:"):
            return identifier
        try:
            return finder(backend, identifier)[f"{kind}Arn"]
        except Exception:  # not found: authorised as named, the operation then answers not found
            return _arn("bedrock", region, account, f"{_KIND[kind]}/{identifier}")

    if action == "CreateInferenceProfile":
        source = (p.get("modelSource") or {}).get("copyFrom", "")
        return [(f"bedrock:{action}", _arn("bedrock", region, account, f"application-inference-profile/{p.get('inferenceProfileName', '')}"))] + (
            [(f"bedrock:{action}", source)] if source else [])
    if action in ("GetInferenceProfile", "DeleteInferenceProfile"):
        identifier = p.get("inferenceProfileIdentifier", "")
        if identifier.startswith("arn:"):
            return [(f"bedrock:{action}", identifier)]
        kind = "inference-profile" if "." in identifier else "application-inference-profile"
        return [(f"bedrock:{action}", _arn("bedrock", region, account, f"{kind}/{identifier}"))]
    if action in ("GetImportedModel", "DeleteImportedModel"):
        return [(f"bedrock:{action}", found(bedrock_patch._find_model, p.get("modelIdentifier", ""), "model"))]
    if action == "GetModelImportJob":
        return [(f"bedrock:{action}", found(bedrock_patch._find_job, p.get("jobIdentifier", ""), "job"))]
    if action in ("TagResource", "UntagResource", "ListTagsForResource"):
        return [(f"bedrock:{action}", p.get("resourceARN", "*"))]
    if action == "CreateModelImportJob":  # no resource types; tags given on create need TagResource too
        return [("bedrock:CreateModelImportJob", "*")] + [
            ("bedrock:TagResource", _arn("bedrock", region, account, f"{kind}/{p.get(name, '')}"))
            for tags, kind, name in (("jobTags", "model-import-job", "jobName"), ("importedModelTags", "imported-model", "importedModelName"))
            if p.get(tags)]
    if action == "GetFoundationModel":
        return [(f"bedrock:{action}", f"arn:aws:bedrock:{region}::foundation-model/{p.get('modelIdentifier', '')}")]
    # No resource types in the Service Authorization Reference (CreateModelImportJob, the List*
    # operations): only a statement on "*" allows them.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html
    return [(f"bedrock:{action}", "*")]


_KIND = {"model": "imported-model", "job": "model-import-job"}


def _targets(self, service: str, action: str, p: dict, region: str, account: str) -> list[tuple[str, str]]:
    """[(IAM action, resource ARN)] the request needs."""
    if service == "dynamodb":
        return _dynamodb(action, p, region, account)
    if service == "lambda":
        iam_action = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeAsync"}.get(action, action)
        name = p.get("FunctionName") or p.get("functionName")
        return [(f"lambda:{iam_action}", _function_arn(name, region, account) if name else "*")]
    if service == "states":
        arn = p.get("stateMachineArn") or p.get("executionArn") or "*"
        return [(f"states:{action}", arn)]
    if service == "events":
        if action == "PutEvents":
            buses = {e.get("EventBusName") or "default" for e in p.get("Entries", [])} or {"default"}
            return [("events:PutEvents", b if b.startswith("arn:") else _arn("events", region, account, f"event-bus/{b}"))
                    for b in sorted(buses)]
        rule = p.get("Rule") or p.get("Name")
        if rule and action.endswith(("Rule", "Targets")):
            bus = p.get("EventBusName") or "default"
            path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
            return [(f"events:{action}", _arn("events", region, account, path))]
        return [(f"events:{action}", "*")]
    if service == "sqs":
        url = p.get("QueueUrl") or p.get("QueueName")
        return [(f"sqs:{action}", _queue_arn(url, region, account) if url else "*")]
    if service == "sns":
        return [(f"sns:{action}", p.get("TopicArn") or p.get("ResourceArn") or "*")]
    if service == "kms":
        key = p.get("KeyId") or p.get("TargetKeyId")
        return [(f"kms:{action}", _kms_key_arn(key, region, account) if key else "*")]
    if service == "iam":
        if p.get("RoleName"):
            return [(f"iam:{action}", _role_arn(p["RoleName"], account))]
        if p.get("UserName"):
            return [(f"iam:{action}", _user_arn(p["UserName"], account))]
        if p.get("PolicyArn"):
            return [(f"iam:{action}", p["PolicyArn"])]
        return [(f"iam:{action}", "*")]
    if service == "bedrock":
        return _bedrock(self, action, p, region, account)
    if service == "cloudformation" and p.get("StackName"):
        return [(f"cloudformation:{action}", _stack_arn(p["StackName"], region, account))]
    if service == "logs":
        group = p.get("logGroupName")
        return [(f"logs:{action}", _arn("logs", region, account, f"log-group:{group}") if group else "*")]
    return [(f"{service}:{action}", "*")]


def _user_arn(name: str, account: str) -> str:
    """The user's ARN with its path, as IAM authorises a call naming the user."""
    from moto.iam.models import iam_backends

    try:
        return iam_backends[account]["global"].get_user(name).arn
    except Exception:  # no such user: the operation answers NoSuchEntity after authorisation
        return f"arn:aws:iam::{account}:user/{name}"


def _stack_arn(name_or_id: str, region: str, account: str) -> str:
    """A stack named by name or id, as its ARN (arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>):
    what a policy's Resource for DescribeStacks etc. matches (Service Authorization Reference, CloudFormation)."""
    if name_or_id.startswith("arn:"):
        return name_or_id
    from moto.cloudformation.models import cloudformation_backends

    try:
        return cloudformation_backends[account][region].get_stack(name_or_id).stack_id
    except Exception:  # no such stack: describe answers ValidationError after authorisation
        return f"arn:aws:cloudformation:{region}:{account}:stack/{name_or_id}/*"


def _role_arn(name: str, account: str) -> str:
    role = principals.role_of(account, name)
    return role.arn if role is not None else f"arn:aws:iam::{account}:role/{name}"


def _kms_key_arn(key: str, region: str, account: str) -> str:
    from moto.kms.models import kms_backends

    if key.startswith("arn:") and ":key/" in key:
        return key
    arn = key if key.startswith("arn:") else None
    acct, reg = (arn.split(":")[4], arn.split(":")[3]) if arn else (account, region)
    try:
        return kms_backends[acct][reg].describe_key(key).arn
    except Exception:  # not found: authorised as named
        return arn or _arn("kms", reg, acct, f"key/{key}")


# --- resource-based policies ----------------------------------------------------------------------
def _bucket(name: str):
    from moto.s3.models import s3_backends

    return next((b for backends in list(s3_backends.values()) for backend in list(backends.values())
                 for b in [backend.buckets.get(name)] if b is not None), None)


def _resource(service: str, arn: str) -> tuple[str | None, object]:
    """(the account that owns the resource, its policy document or None), read in the resource's own
    account and Region. The owner comes from the ARN, or for S3 (ARNs without an account) from the
    bucket, which is looked up once for both."""
    if arn == "*" or not arn.startswith("arn:"):
        return None, None
    parts = arn.split(":")
    region, account = parts[3], parts[4]
    if service == "s3":
        found = _bucket(arn.split(":::", 1)[1].split("/", 1)[0])
        policy = getattr(found, "policy", None)
        return (found.account_id if found is not None else None), (policy.decode() if isinstance(policy, bytes) else policy)
    owner = account or None
    try:
        if service == "kms":
            from moto.kms.models import kms_backends

            return owner, kms_backends[account][region].get_key_policy(arn.rsplit("/", 1)[-1])
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            return owner, sqs_backends[account][region].get_queue(parts[5]).policy
        if service == "sns":
            from moto.sns.models import sns_backends

            return owner, sns_backends[account][region].get_topic(arn).policy
        if service == "events" and ":event-bus/" in arn:
            from moto.events.models import events_backends

            return owner, events_backends[account][region].describe_event_bus(arn.split(":event-bus/", 1)[1]).policy
        if service == "lambda":
            from moto.awslambda.models import lambda_backends

            return owner, lambda_backends[account][region].get_policy(parts[6], None)
    except Exception:  # no such resource or no policy
        return owner, None
    return owner, None


def _resource_tags(service: str, arn: str) -> dict:
    if service != "bedrock" or not arn.startswith("arn:"):
        return {}
    from hubsim.patches.bedrock_runtime import _resource_tags as bedrock_tags

    return bedrock_tags(arn)


# --- the decision ---------------------------------------------------------------------------------
def decide(principal: principals.Principal, service: str, action: str, resource: str, region: str,
           context: dict | None = None) -> iam_policy.Decision:
    """One request, evaluated; counted for the least-privilege report."""
    ctx = {"aws:SecureTransport": "true", "aws:RequestedRegion": region, **principal.context(),
           **{f"aws:ResourceTag/{k}": v for k, v in _resource_tags(service, resource).items()}, **(context or {})}
    resource_account, policy = _resource(service, resource)
    request = iam_policy.Request(action=action, resource=resource, principal_arn=principal.arn,
                                 principal_account=principal.account, resource_account=resource_account,
                                 context=ctx, role_arn=principal.role_arn)
    decision = iam_policy.evaluate(request, list(principal.identity_policies), list(principal.session_policies),
                                   policy, principal.boundary, resource_policy_required=service == "kms" and ":key/" in resource)
    record(principal, decision)
    return decision


def record(principal: principals.Principal, decision: iam_policy.Decision) -> None:
    """Count the statements that allowed a call (the least-privilege report), or log a denial."""
    with _lock:
        if decision.allowed and principal.role_arn:
            role = principal.role_arn.rsplit("/", 1)[-1]
            for kind, doc, stmt in decision.granted_by:
                if kind == "identity" and doc < len(principal.policy_names):
                    allowed_by[(role, principal.policy_names[doc], stmt)] += 1
        else:
            denials.append((principal.arn, decision.action, decision.resource))
            if os.environ.get("HUBSIM_IAM_LOG"):
                with open(os.environ["HUBSIM_IAM_LOG"], "a") as log:
                    log.write(json.dumps({"principal": principal.arn, "action": decision.action,
                                          "resource": decision.resource, "reason": decision.reason}) + "\n")


# The S3 actions that take s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys (Service
# Authorization Reference for Amazon S3; CreateMultipartUpload and CopyObject are s3:PutObject).
_S3_REQUEST_TAG_ACTIONS = {"s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"}


def _request_context(service: str, action: str, p: dict, object_tags: dict | None = None) -> dict:
    """The request's own context keys; `object_tags` are the object tags an S3 request sets."""
    ctx: dict = {}
    tags = p.get("tags") or p.get("Tags")
    if isinstance(tags, list):
        pairs = {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags if isinstance(t, dict)}
        ctx.update({f"aws:RequestTag/{k}": v for k, v in pairs.items()})
        if pairs:
            ctx["aws:TagKeys"] = list(pairs)
    if service == "s3" and action == "s3:ListBucket" and p.get("prefix") is not None:
        ctx["s3:prefix"] = p["prefix"]
    if service == "s3" and action in _S3_REQUEST_TAG_ACTIONS and object_tags:
        ctx.update({f"s3:RequestObjectTag/{k}": v for k, v in object_tags.items()})
        ctx["s3:RequestObjectTagKeys"] = list(object_tags)
    return ctx


def _local_name(element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # without the S3 namespace


def _s3_object_tags(self) -> dict | None:
    """The object tags an S3 request sets, or None: the x-amz-tagging header (URL-encoded
    k=v&k2=v2) of PutObject and CreateMultipartUpload, and of CopyObject only with
    x-amz-tagging-directive REPLACE (COPY, the default, copies the source's tags and ignores the
    header); the XML body of PutObjectTagging.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    method = getattr(self, "method", "")
    query = getattr(self, "querystring", None) or {}
    if method not in ("PUT", "POST"):
        return None
    if method == "PUT" and "tagging" in query:
        body = self.body if isinstance(self.body, (str, bytes)) else b""
        try:
            root = ElementTree.fromstring(body or b"<Tagging/>")
        except ElementTree.ParseError:
            return None  # S3 answers MalformedXML
        tags = {}
        for tag in (e for e in root.iter() if _local_name(e) == "Tag"):
            fields = {_local_name(child): child.text or "" for child in tag}
            tags[fields.get("Key", "")] = fields.get("Value", "")
        return tags
    if self.headers.get("x-amz-copy-source") and (self.headers.get("x-amz-tagging-directive") or "COPY").upper() != "REPLACE":
        return None
    header = self.headers.get("x-amz-tagging")
    if not header:
        return None
    return {k: v[0] for k, v in parse_qs(header, keep_blank_values=True).items()}


# S3 actions by subresource, where moto's ACTION_MAP has none (it then authorises ListBucket) or another.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
_S3_BUCKET = {
    "GET": {"encryption": "GetEncryptionConfiguration", "ownershipControls": "GetBucketOwnershipControls",
            "publicAccessBlock": "GetBucketPublicAccessBlock", "object-lock": "GetBucketObjectLockConfiguration",
            "replication": "GetReplicationConfiguration", "intelligent-tiering": "GetIntelligentTieringConfiguration"},
    "PUT": {"encryption": "PutEncryptionConfiguration", "ownershipControls": "PutBucketOwnershipControls",
            "publicAccessBlock": "PutBucketPublicAccessBlock", "object-lock": "PutBucketObjectLockConfiguration",
            "replication": "PutReplicationConfiguration"},
    "DELETE": {"encryption": "PutEncryptionConfiguration", "ownershipControls": "PutBucketOwnershipControls",
               "publicAccessBlock": "PutBucketPublicAccessBlock", "replication": "PutReplicationConfiguration"},
}


# An object's tag set: moto authorises DELETE ?tagging as DeleteObject and GET ?tagging&versionId
# as GetObjectVersion; with versionId each is the Version action.
_S3_OBJECT_TAGGING = {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"}


def _s3_targets(self, resource: str, object_tags: dict | None = None) -> list[tuple[str, str]]:
    """The S3 actions of a request: moto's name, corrected per subresource; HeadBucket is ListBucket;
    a multi-object delete is DeleteObject; CopyObject also reads its source with GetObject; a
    PutObject (or copy, or multipart upload) that sets tags also needs s3:PutObjectTagging
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, "Permissions")."""
    action = self.data.get("Action", "")
    query = getattr(self, "querystring", None) or {}
    method = getattr(self, "method", "")
    if "/" not in resource.split(":::", 1)[-1]:  # a bucket request
        action = next((a for sub, a in _S3_BUCKET.get(method, {}).items() if sub in query), action)
        if method == "POST" and "delete" in query:
            return [("s3:DeleteObject", f"{resource}/*")]
    elif "tagging" in query and method in _S3_OBJECT_TAGGING:
        action = _S3_OBJECT_TAGGING[method]
        if "versionId" in query:
            action = action.replace("ObjectTagging", "ObjectVersionTagging")
    action = {"HeadBucket": "ListBucket"}.get(action, action)
    targets = [(f"s3:{action}", resource)]
    if action == "PutObject" and object_tags:
        targets.append(("s3:PutObjectTagging", resource))
    source = self.headers.get("x-amz-copy-source")
    if source and method == "PUT":
        path = unquote(source.split("?", 1)[0]).lstrip("/")
        targets.append(("s3:GetObject", f"arn:aws:s3:::{path}"))
    return targets


def _sse_kms_targets(targets: list, region: str) -> list:
    """Reading an object encrypted with SSE-KMS: S3 decrypts it with the key as the caller, so the
    caller needs kms:Decrypt on the key (kms:ViaService s3.<Region>.amazonaws.com), which the key
    policy must allow. https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms"""
    extra = []
    for action, arn in targets:
        if action not in ("s3:GetObject", "s3:GetObjectVersion"):
            continue
        bucket_name, _, key_name = arn.split(":::", 1)[1].partition("/")
        bucket = _bucket(bucket_name)
        found = bucket.keys.get(key_name) if bucket is not None and key_name else None
        if found is None or getattr(found, "encryption", None) != "aws:kms" or not getattr(found, "kms_key_id", None):
            continue
        key = _kms_key_arn(found.kms_key_id, bucket.region_name, bucket.account_id)
        extra.append(("kms:Decrypt", key))
    return extra


# Operations that hand a role to the service, which then acts as it: the caller needs iam:PassRole
# on the role, with iam:PassedToService the service's principal.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
_PASSES_ROLE = {("bedrock", "CreateModelImportJob"): "roleArn"}


def _passed_role(service: str, operation: str, p: dict) -> str | None:
    field = _PASSES_ROLE.get((service, operation))
    return p.get(field) if field else None


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/")


def authenticate_and_authorize(self, iam_request_cls, resource: str = "*") -> None:
    """ActionAuthenticatorMixin._authenticate_and_authorize_action: every request, every service."""
    if not enabled():
        return
    found = _SCOPE.search(self.headers.get("Authorization") or self.headers.get("authorization") or "")
    if found is None:  # unsigned (presigned URLs carry the scope in the query)
        query = getattr(self, "querystring", None) or {}
        credential = (query.get("X-Amz-Credential") or [""])[0]
        found = _SCOPE.search(f"Credential={credential}/") if credential else None
    if found is None and mode() == "enforce":
        return _deny(self, "s3" if iam_request_cls.__name__.startswith("S3") else "", "anonymous", "*", resource)
    if found is None:
        return None
    access_key, region, signing = found.groups()
    service = _PREFIX.get(signing, signing)
    if service in _SELF_AUTHORISED or getattr(self, "service_name", None) in _SELF_AUTHORISED:
        return None
    token = self.headers.get("X-Amz-Security-Token") or (getattr(self, "querystring", {}) or {}).get("X-Amz-Security-Token", [None])[0]
    resolved = principals.resolve(access_key, token, self.current_account)
    if resolved is None:
        raise AccessDenied("UnrecognizedClientException" if service != "s3" else "InvalidToken",
                           "The security token included in the request is invalid.")
    principal, _ = resolved
    operation = self._get_action() if service != "s3" else ""  # for a REST API, this also matches the URI labels
    p = _params(self)
    object_tags = _s3_object_tags(self) if service == "s3" else None
    if service == "s3":
        targets = _s3_targets(self, resource, object_tags)
    else:
        targets = _targets(self, service, operation, p, region, self.current_account)
    if service == "s3":
        targets += _sse_kms_targets(targets, region)
    passed = _passed_role(service, operation, p)
    for action, arn in targets + ([("iam:PassRole", passed)] if passed else []):
        if action == "iam:PassRole":
            context = {"iam:PassedToService": f"{service}.amazonaws.com"}
        elif service == "s3" and action == "kms:Decrypt":  # S3 calls KMS from the key's (the bucket's) Region
            context = {"kms:ViaService": f"s3.{arn.split(':')[3]}.amazonaws.com", "kms:CallerAccount": principal.account}
        else:
            context = _request_context(service, action, p, object_tags)
        decision = decide(principal, action.split(":")[0], action, arn, region, context)
        if not decision.allowed and mode() == "enforce":
            _deny(self, service, principal.arn, action, arn, decision.message())  # S3 answers AccessDenied, KMS's too


def _deny(self, service: str, who: str, action: str, resource: str, message: str | None = None):
    message = message or f"User: {who} is not authorized to perform: {action} on resource: {resource}"
    if service == "s3":
        from moto.s3.exceptions import S3AccessDeniedError

        raise S3AccessDeniedError()
    raise AccessDenied(_CODES.get(service, "AccessDeniedException"), message)


def call_action(self):
    """BaseResponse.call_action, answering a denied request in the service's own error format (moto
    catches only HTTP errors around its check, and renders them as XML whatever the protocol)."""
    try:
        return _original_call(self)
    except AccessDenied as denied:
        status, headers, body = self.serialized(ActionResult(denied))
        headers, body = self._enrich_response(headers, body)  # the request id every AWS answer carries
        return status, headers, body


def apply() -> None:
    # moto warns when an error code is not one of the service model's shapes (AccessDeniedException
    # is not modelled for every service, though every service answers it).
    warnings.filterwarnings("ignore", message=r"Exception\(AccessDenied\)")
    authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize
    responses.BaseResponse.call_action = call_action


def revert() -> None:
    authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = _original
    responses.BaseResponse.call_action = _original_call
