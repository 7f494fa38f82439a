"""S3, KMS and SQS from CloudFormation as the research spoke needs them (spokes/research.yaml).

Each gap below was found by deploying spokes/research.yaml into an emulated account and reading
back, with the account's own clients, what CloudFormation should have configured:

1. `moto.s3.models.FakeBucket.create_from_cloudformation_json` applies only `BucketEncryption`
   (without its `BucketKeyEnabled`) and `Tags`: `NotificationConfiguration`,
   `VersioningConfiguration`, `PublicAccessBlockConfiguration` and `OwnershipControls` are
   dropped. Without `EventBridgeConfiguration` no "Object Created" event reaches the account's
   bus. The replacement creates the bucket with moto, then applies those properties through the
   account's s3 backend as the matching Put* calls would. (Of NotificationConfiguration only the
   EventBridge part is applied; Lambda/Queue/Topic configurations are still dropped. Updates
   keep moto's behaviour.)
2. `AWS::S3::BucketPolicy` and `AWS::SQS::QueuePolicy` have no moto CloudFormation model ("No
   Moto CloudFormation support", the resource is skipped and the stack still completes). Both are
   added as direct subclasses of `moto.core.common_models.CloudFormationModel` (moto's
   `get_model_list` reads `CloudFormationModel.__subclasses__()`, which is not recursive, behind
   lru caches that are cleared here): the bucket policy is put through the s3 backend of the
   bucket's account (physical id: the bucket name, as on AWS), the queue policy is set as the
   `Policy` attribute of each queue in `Queues` (physical id: a generated name). Delete removes
   them.
3. `moto.kms.models.Key.create_from_cloudformation_json` stores `KeyPolicy` as the template's
   object, so GetKeyPolicy answers `Policy` as a JSON object and boto3 returns a dict where AWS
   returns a JSON string. The replacement serializes the policy first.
4. `moto.s3.models.FakeBucket.get_permission` (bucket-policy enforcement on object requests)
   ignores condition operators other than StringEquals, so the usual `DenyInsecureTransport`
   statement (Deny "*" s3:* when `Bool aws:SecureTransport` is "false") denies every GetObject
   and PutObject with a 403. Requests to AWS through an SDK are always over TLS, so the
   replacement evaluates `aws:SecureTransport` as true (a statement that only applies to
   plain-HTTP requests is left out) and hands the rest of the policy to moto's evaluation, but for
   statements with any other condition (the research spoke's Deny on s3:RequestObjectTag, which
   moto would apply unconditionally): hubsim.patches.authz evaluates those, with their
   conditions, on every request.
5. `moto.events.models.Rule.send_to_targets` forwards an event to an event bus in another
   account or Region with `PutEvents` in that account, which rewrites it: `account` becomes the
   receiving account, `resources` is emptied and `id` and `time` are new. On AWS the forwarded
   event keeps its origin, which is how the hub knows which research account and bucket an
   import manifest came from. The replacement delivers an `event-bus` target in another account
   or Region to the rules of that bus with the event unchanged, sends it to the target's
   DeadLetterConfig queue when the bus does not exist (as EventBridge does after its retries),
   and hands every other target on. It wraps whatever `Rule.send_to_targets` is when applied, so
   it is applied after hubsim.patches.events. The forward is authorised as the target's RoleArn
   (hubsim.patches.events.authorise_target): the role's policy and the receiving bus's resource
   policy must both allow events:PutEvents, or the event goes to the target's DLQ. And `moto.events.utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE`,
   the shape moto gives every event it delivers to an SQS queue or a log group, leaves out
   `account`: it is put back, in AWS's field order.
6. `moto.s3.notifications._send_event_bridge_message` gives every S3 event the same `id`
   (moto's `_BASE_EVENT_MESSAGE` constant, so a consumer that deduplicates on the event id keeps
   only the first manifest ever), hands it to the rules of every bus of the account (S3 sends to
   the default bus only), names "123456789012" as requester whatever the account, delivers it
   without `ingestion-time` so moto skips the targets' InputTransformer, and swallows the first
   error of any rule, skipping the rules after it. The replacement sends each event with its own
   id to the rules of the default bus, one rule's failure not stopping the next (recorded in
   `undelivered`). moto still sends "Object Tags Added" after every PutObject, tagged or not.
7. `moto.s3.models.S3Backend.get_object_tagging` (and put/delete) keep an object's tags in the
   tagger of the backend that served the request, the caller's account: GetObjectTagging by the
   hub's import role on a research-account object answered an empty TagSet. The replacements use
   the tagger of the bucket owner's backend, where the object's own PutObject put them.
"""
import copy
import json
import uuid
from typing import Any
from urllib.parse import urlparse

from moto.cloudformation import parsing as cfn_parsing
from moto.core.common_models import CloudFormationModel
from moto.core.utils import unix_time
from moto.events import models as events_models
from moto.events.utils import EventTemplateParser
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.kms import models as kms_models
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import MissingBucket
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn
from moto.utilities.utils import get_partition

from hubsim.patches import Patch

PATCH = Patch(
    name="s3-kms-sqs-cloudformation",
    replaces=(
        "moto.s3.models.FakeBucket.create_from_cloudformation_json (drops NotificationConfiguration "
        "incl. EventBridgeConfiguration, VersioningConfiguration, PublicAccessBlockConfiguration, "
        "OwnershipControls, BucketKeyEnabled); no moto CloudFormation model for AWS::S3::BucketPolicy "
        "and AWS::SQS::QueuePolicy; moto.kms.models.Key.create_from_cloudformation_json (KeyPolicy kept "
        "as an object); moto.s3.models.FakeBucket.get_permission (a conditional Deny, aws:SecureTransport "
        "false among them, denies everything); moto.events.models.Rule.send_to_targets (a cross-account event-bus target "
        "re-puts the event, losing its account, resources, id and time; EventTemplateParser's default "
        "shape drops account); "
        "moto.s3.notifications._send_event_bridge_message (one constant event id, every bus, errors swallowed); "
        "moto.s3.models.S3Backend.get/put/delete_object_tagging (tags in the caller's account, not the bucket's)"
    ),
    covered_by="tests/seams/test_s3.py::test_research_spoke_forwards_import_manifests_to_the_hub_bus, "
               "tests/seams/test_s3_request_tags.py::test_another_account_reads_the_tags_the_owner_put",
)

_original_bucket_create = s3_models.FakeBucket.create_from_cloudformation_json.__func__
_original_key_create = kms_models.Key.create_from_cloudformation_json.__func__
_original_get_permission = s3_models.FakeBucket.get_permission


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


# --- 1. AWS::S3::Bucket properties moto drops ----------------------------------------------------
def _s3_backend(account_id: str, region_name: str):
    return s3_models.s3_backends[account_id][get_partition(region_name)]


def _apply_bucket_properties(backend, bucket, properties: dict) -> None:
    rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    if rules and "BucketKeyEnabled" in rules[0] and bucket.encryption:
        bucket.encryption["Rule"]["BucketKeyEnabled"] = str(rules[0]["BucketKeyEnabled"]).lower()
    versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        backend.put_bucket_versioning(bucket.name, versioning)
    public_access_block = properties.get("PublicAccessBlockConfiguration")
    if public_access_block:
        backend.put_public_access_block(bucket.name, {k: str(v).lower() for k, v in public_access_block.items()})
    ownership = (properties.get("OwnershipControls") or {}).get("Rules") or []
    if ownership:
        backend.put_bucket_ownership_controls(bucket.name, ownership[0]["ObjectOwnership"])
    event_bridge = ((properties.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {})
    if str(event_bridge.get("EventBridgeEnabled", "false")).lower() == "true":
        backend.put_bucket_notification_configuration(bucket.name, {"EventBridgeConfiguration": {}})


def bucket_create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _original_bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    _apply_bucket_properties(_s3_backend(account_id, region_name), bucket, cloudformation_json.get("Properties", {}))
    return bucket


# --- 2. AWS::S3::BucketPolicy and AWS::SQS::QueuePolicy -----------------------------------------
class BucketPolicy(CloudFormationModel):
    """AWS::S3::BucketPolicy: PutBucketPolicy on `Bucket` in the stack's account."""

    def __init__(self, account_id: str, region_name: str, bucket_name: str, document: str):
        self.account_id, self.region_name = account_id, region_name
        self.bucket_name, self.document = bucket_name, document

    @property
    def physical_resource_id(self) -> str:
        return self.bucket_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, properties["Bucket"], _policy_json(properties["PolicyDocument"]))
        _s3_backend(account_id, region_name).put_bucket_policy(policy.bucket_name, policy.document.encode())
        return policy

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        if cloudformation_json["Properties"]["Bucket"] != original_resource.bucket_name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(account_id, region_name, cloudformation_json["Properties"]["Bucket"], "").delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            _s3_backend(self.account_id, self.region_name).delete_bucket_policy(self.bucket_name)
        except MissingBucket:
            pass  # the bucket went first: its policy went with it

    def is_created(self) -> bool:
        return True


def _queue_location(queue: str, account_id: str, region_name: str) -> tuple[str, str, str]:
    """(account, Region, name) of a queue given as URL (Ref of AWS::SQS::Queue), ARN or name."""
    if queue.startswith("arn:"):
        arn = parse_arn(queue)
        return arn.account, arn.region, arn.resource_id
    if "://" in queue:
        url = urlparse(queue)
        account, name = url.path.strip("/").split("/")[-2:]
        host = url.netloc.split(".")
        region = host[1] if len(host) > 2 and host[0] == "sqs" else region_name
        return account, region, name
    return account_id, region_name, queue


class QueuePolicy(CloudFormationModel):
    """AWS::SQS::QueuePolicy: the Policy attribute of each queue of `Queues`."""

    def __init__(self, name: str, queues: list[tuple[str, str, str]], document: str):
        self.name, self.queues, self.document = name, queues, document

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Id":
            return self.name
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        queues = [_queue_location(q, account_id, region_name) for q in _as_list(properties["Queues"])]
        policy = cls(resource_name, queues, _policy_json(properties["PolicyDocument"]))
        for account, region, name in queues:
            sqs_backends[account][region].set_queue_attributes(name, {"Policy": policy.document})
        return policy

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        queues = [_queue_location(q, account_id, region_name) for q in _as_list(cloudformation_json["Properties"]["Queues"])]
        cls(resource_name, queues, "").delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        for account, region, name in self.queues:
            queue = sqs_backends[account][region].queues.get(name)
            if queue is not None:  # the queue may have gone first
                queue.policy = None

    def is_created(self) -> bool:
        return True


def _register_models() -> None:
    """moto finds models through lru-cached CloudFormationModel.__subclasses__()."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()
    missing = {m.cloudformation_type() for m in (BucketPolicy, QueuePolicy)} - set(cfn_parsing.get_model_map())
    if missing:
        raise RuntimeError(f"moto CloudFormation does not see the hubsim models for {sorted(missing)}")


# --- 3. AWS::KMS::Key KeyPolicy -----------------------------------------------------------------
def key_create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    if isinstance(properties.get("KeyPolicy"), dict):
        cloudformation_json = {**cloudformation_json, "Properties": {**properties, "KeyPolicy": json.dumps(properties["KeyPolicy"])}}
    return _original_key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


# --- 4. bucket policies on requests over TLS ----------------------------------------------------
def _applies_over_tls(statement: dict) -> bool:
    conditions = statement.get("Condition") or {}
    for operator in ("Bool", "BoolIfExists"):
        value = (conditions.get(operator) or {}).get("aws:SecureTransport")
        if value is not None and "true" not in [str(v).lower() for v in _as_list(value)]:
            return False
    return True


def _moto_reads(statement: dict) -> bool:
    """Over TLS, and no condition but aws:SecureTransport: moto's evaluator gets it right."""
    others = {op for op, keys in (statement.get("Condition") or {}).items()
              if not (op in ("Bool", "BoolIfExists") and isinstance(keys, dict) and set(keys) == {"aws:SecureTransport"})}
    return _applies_over_tls(statement) and not others


def get_permission(self, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    statements = [s for s in _as_list(document.get("Statement", [])) if _moto_reads(s)]
    return IAMPolicy(json.dumps({**document, "Statement": statements})).is_action_permitted(action, resource)


# --- 5. events forwarded to a bus in another account or Region ----------------------------------
forwarded: list[dict] = []  # (rule, target bus, event id) of every cross-account/Region forward


def _forward(rule, target: dict, event: dict) -> None:
    from hubsim.patches import events as events_patch

    arn = parse_arn(target["Arn"])
    backend = events_models.events_backends[arn.account][arn.region]
    try:
        bus = backend.describe_event_bus(arn.resource_id)
        # As the target's role: its policy and the receiving bus's policy must both allow PutEvents.
        events_patch.authorise_target(rule, target, "events:PutEvents", rule.region_name)
    except Exception as error:  # ResourceNotFoundException, TargetAccessDenied: the delivery fails after retries
        events_patch._dead_letter(rule.name, target, event, error)
        return
    forwarded.append({"rule": rule.name, "target": target["Arn"], "event": event.get("id")})
    event["ingestion-time"] = unix_time()  # ingested by the receiving bus (moto's transform needs it)
    for receiving_rule in list(bus.rules.values()):
        receiving_rule.send_to_targets(copy.deepcopy(event))


# The whole event as AWS delivers it to a queue or log group (moto's template has no "account")
EVENT_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)


def _is_remote_bus(rule, target: dict) -> bool:
    arn = parse_arn(target["Arn"])
    return (arn.service == "events" and arn.resource_type == "event-bus"
            and (arn.account, arn.region) != (rule.account_id, rule.region_name))


def _forwarding(next_send_to_targets):
    def send_to_targets(self, original_event, transform_input=True):
        if not self.event_pattern.matches_event(original_event):
            return
        remote = [t for t in self.targets if _is_remote_bus(self, t)]
        for target in remote:
            _forward(self, target, copy.deepcopy(original_event))
        if len(remote) < len(self.targets):
            rest = copy.copy(self)
            rest.targets = [t for t in self.targets if t not in remote]
            next_send_to_targets(rest, original_event, transform_input)

    send_to_targets.hubsim_forwarding = True
    return send_to_targets


# --- 6. S3 events to the account's default bus ---------------------------------------------------
undelivered: list[dict] = []  # (bucket, key, rule, error) of every S3 event a rule failed to deliver


def send_event_bridge_message(account_id: str, bucket, event_name: str, key) -> None:
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": s3_notifications._detail_type(event_name),
        "source": "aws.s3",
        "account": account_id,
        "time": unix_time(),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": {
                "key": key.name,
                "size": key.size,
                "eTag": key.etag.replace('"', ""),
                "version-id": key.version_id,
                "sequencer": f"{int(unix_time() * 1e6):016X}",
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "1.2.3.4",
            "reason": str(getattr(event_name, "value", event_name)).split(":")[1],
        },
        "ingestion-time": unix_time(),
    }
    backend = events_models.events_backends[account_id][bucket.region_name]
    bus = backend.event_buses.get("default")
    for rule in list(bus.rules.values()) if bus else []:
        try:
            rule.send_to_targets(copy.deepcopy(event))
        except Exception as error:  # asynchronous on AWS: the PutObject still succeeds
            undelivered.append({"bucket": bucket.name, "key": key.name, "rule": rule.name,
                                "error": f"{type(error).__name__}: {error}"})


# --- 7. object tags kept in the bucket owner's account ------------------------------------------
_original_tagging = {name: getattr(s3_models.S3Backend, name)
                     for name in ("get_object_tagging", "put_object_tagging", "delete_object_tagging")}


def _owner(backend, bucket_name: str):
    """The s3 backend of the account that owns the bucket (the caller's backend finds it in any account)."""
    account = backend.get_bucket(bucket_name).account_id
    return backend if account == backend.account_id else s3_models.s3_backends[account][backend.partition]


def get_object_tagging(self, key):
    return _original_tagging["get_object_tagging"](_owner(self, key.bucket_name), key)


def put_object_tagging(self, key, tags):
    return _original_tagging["put_object_tagging"](_owner(self, key.bucket_name), key, tags)


def delete_object_tagging(self, bucket_name: str, key_name: str, version_id: str | None = None):
    return _original_tagging["delete_object_tagging"](_owner(self, bucket_name), bucket_name, key_name, version_id)


def apply() -> None:
    s3_models.FakeBucket.create_from_cloudformation_json = classmethod(bucket_create_from_cloudformation_json)
    s3_models.S3Backend.get_object_tagging = get_object_tagging
    s3_models.S3Backend.put_object_tagging = put_object_tagging
    s3_models.S3Backend.delete_object_tagging = delete_object_tagging
    s3_models.FakeBucket.get_permission = get_permission
    kms_models.Key.create_from_cloudformation_json = classmethod(key_create_from_cloudformation_json)
    _register_models()
    s3_notifications._send_event_bridge_message = send_event_bridge_message
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = EVENT_INPUT_TEMPLATE
    current = events_models.Rule.send_to_targets
    if not getattr(current, "hubsim_forwarding", False):
        events_models.Rule.send_to_targets = _forwarding(current)
