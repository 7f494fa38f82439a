"""CloudFormation: Object Lock of an AWS::S3::Bucket and KeySpec/KeyUsage of an AWS::KMS::Key.

The hub's audit digests (genai_hub.digests) are signed with an asymmetric KMS key and kept in a
bucket with Object Lock; both come from template.yaml, and moto's CloudFormation drops what makes
them so:

1. `moto.s3.models.FakeBucket.create_from_cloudformation_json` (as hubsim.patches.s3 extends it)
   ignores `ObjectLockEnabled` and `ObjectLockConfiguration`: the bucket is created without Object
   Lock, so its versions are not locked and any of them can be deleted. The replacement creates
   the bucket as before and, when `ObjectLockEnabled` is true, turns Object Lock on with
   `ObjectLockConfiguration.Rule.DefaultRetention` (`Mode`, `Days` or `Years`), as
   PutObjectLockConfiguration does on a new bucket; Object Lock needs versioning, which it enables
   (as S3 does when a bucket is created with Object Lock). A configuration without
   `ObjectLockEnabled: true` is left out, as CloudFormation requires the flag for it.
   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-objectlockconfiguration.html
   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-defaultretention.html
2. `moto.kms.models.Key.create_from_cloudformation_json` creates every key as SYMMETRIC_DEFAULT /
   ENCRYPT_DECRYPT whatever `KeySpec` and `KeyUsage` say, so Sign with the template's
   ECC_NIST_P256 / SIGN_VERIFY key is refused. The replacement creates a key with another spec or
   usage through the KMS backend with them (the rest as moto does: policy, description, tags,
   rotation, enabled); a symmetric key is still moto's (and hubsim.patches.s3's) creation.
   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html

Applied after hubsim.patches.s3, whose bucket and key creation it wraps.
"""
import json

from moto.kms import models as kms_models
from moto.s3 import models as s3_models
from moto.utilities.utils import get_partition

from hubsim.patches import Patch

PATCH = Patch(
    name="cloudformation-object-lock-and-key-spec",
    replaces="moto.s3.models.FakeBucket.create_from_cloudformation_json (ObjectLockEnabled and ObjectLockConfiguration "
             "dropped), moto.kms.models.Key.create_from_cloudformation_json (KeySpec and KeyUsage dropped: every key "
             "SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT)",
    covered_by="tests/seams/test_cfn_object_lock.py::test_a_bucket_from_cloudformation_locks_its_versions_as_configured, "
               "tests/seams/test_cfn_object_lock.py::test_a_signing_key_from_cloudformation_signs",
)

_previous: dict = {}


def bucket_create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _previous["bucket"](cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    if str(properties.get("ObjectLockEnabled", "false")).lower() != "true":
        return bucket
    backend = s3_models.s3_backends[account_id][get_partition(region_name)]
    if not bucket.is_versioned:
        backend.put_bucket_versioning(bucket.name, "Enabled")
    retention = ((properties.get("ObjectLockConfiguration") or {}).get("Rule") or {}).get("DefaultRetention") or {}
    # As moto reads a PutObjectLockConfiguration body: an absent period is 0 (its default_retention adds both)
    days, years = int(retention.get("Days", 0)), int(retention.get("Years", 0))
    if days and years:  # "You cannot specify Days and Years at the same time" (DefaultRetention)
        raise ValueError(f"{bucket.name}: DefaultRetention has both Days and Years")
    backend.put_object_lock_configuration(bucket.name, True, mode=retention.get("Mode"), days=days, years=years)
    return bucket


def key_create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    spec, usage = properties.get("KeySpec", "SYMMETRIC_DEFAULT"), properties.get("KeyUsage", "ENCRYPT_DECRYPT")
    if (spec, usage) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"):
        return _previous["key"](cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    policy = properties.get("KeyPolicy")
    key = kms_models.kms_backends[account_id][region_name].create_key(
        policy=json.dumps(policy) if isinstance(policy, dict) else policy, key_usage=usage, key_spec=spec,
        description=properties.get("Description"), tags=properties.get("Tags", []))
    key.key_rotation_status = properties.get("EnableKeyRotation", False)
    key.enabled = properties.get("Enabled", True)
    return key


def apply() -> None:
    """Wraps what is there: hubsim.patches.s3 puts its own creation back each time it is applied."""
    for owner, name, replacement in ((s3_models.FakeBucket, "bucket", bucket_create_from_cloudformation_json),
                                     (kms_models.Key, "key", key_create_from_cloudformation_json)):
        current = owner.create_from_cloudformation_json.__func__
        if current is not replacement:
            _previous[name] = current
            owner.create_from_cloudformation_json = classmethod(replacement)
