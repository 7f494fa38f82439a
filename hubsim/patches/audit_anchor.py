"""KMS Sign/Verify and S3 Object Lock (COMPLIANCE) as AWS answers them: what signed, locked audit
digests rely on.

KMS (asymmetric signing keys; the hub signs with ECC_NIST_P256 / ECDSA_SHA_256):

1. Verify. The API reference (https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html)
   says: "If the signature is verified, the value of the SignatureValid field in the response is
   True. If the signature verification fails, the Verify operation fails with an
   KMSInvalidSignatureException exception." `moto.kms.models.KmsBackend.verify` answers
   `SignatureValid: false` instead, so a caller that only catches the exception (as it must on AWS)
   takes a forged digest for a good one. The replacement raises KMSInvalidSignatureException
   (HTTP 400, code KMSInvalidSignatureException, empty message: AWS's error carries none, as
   recorded by localstack's AWS-validated `test_kms.py::test_sign_verify` snapshots "bad-signature").
2. MessageType DIGEST. "When the value is DIGEST, KMS skips the hashing step in the signing
   algorithm", and "the length of the Message value must match the length of hashed messages for
   the specified signing algorithm" (API_Sign.html / API_Verify.html, MessageType). moto reads
   MessageType and ignores it: it hashes a digest again, so a DIGEST signature does not verify
   with the public key (GetPublicKey) outside KMS, nor with Verify of the RAW message ("A message
   and its hash digest are considered to be the same message", Verify, Message). The replacement
   signs and verifies a DIGEST as prehashed, and refuses a digest of the wrong length with
   ValidationException "Digest is invalid length for algorithm <SigningAlgorithm>." (the message
   AWS answers, same snapshots, "bad-digest"). RAW is moto's own signing, unchanged.
3. Message size. "Messages can be 0-4096 bytes. To sign a larger message, provide a message
   digest" (API_Sign.html, Message; Verify the same); moto signs any size. A RAW message over 4096
   bytes is refused with ValidationException "1 validation error detected: Value at 'message'
   failed to satisfy constraint: Member must have length less than or equal to 4096" (the wording
   of AWS's length constraint, as AWS answers it for Encrypt's 'plaintext' in the same snapshots;
   Sign's exact text is not recorded). moto's refusal of an empty message is kept.

S3 Object Lock, https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html ("Retention
modes"): "In compliance mode, a protected object version can't be overwritten or deleted by any
user, including the root user in your AWS account. When an object is locked in compliance mode,
its retention mode can't be changed, and its retention period can't be shortened." Error codes and
messages below are AWS's as recorded by localstack's AWS-validated S3 snapshots
(`test_s3.py::TestS3ObjectLockRetention`, `TestS3ObjectLockLegalHold::test_delete_locked_object`,
`test_s3_api.py::TestS3ObjectLock::test_disable_versioning_on_locked_bucket`,
`TestS3BucketCRUD::test_delete_versioned_bucket_with_objects`).

4. PutObjectRetention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html).
   `moto.s3.responses.S3Response.put_object_retention` stores whatever it is sent: a COMPLIANCE
   version could be turned into GOVERNANCE with a past date and then deleted with
   BypassGovernanceRetention. The replacement, while a version's retention is in effect, refuses
   a change that shortens it, removes it, or turns COMPLIANCE into GOVERNANCE: always in
   COMPLIANCE mode, in GOVERNANCE mode unless the request bypasses governance retention (403
   AccessDenied "Access Denied because object protected by object lock."). Extending is allowed,
   as is GOVERNANCE to COMPLIANCE. A date in the past is 400 InvalidArgument "The retain until
   date must be in the future!" (ArgumentName RetainUntilDate), a Mode other than GOVERNANCE or
   COMPLIANCE or a missing date 400 MalformedXML, a bucket without Object Lock 400 InvalidRequest
   "Bucket is missing Object Lock Configuration", a missing key or version NoSuchKey /
   NoSuchVersion (moto answered a 500).
5. GetObjectRetention is not implemented by moto (the request falls through to GetObject and the
   SDK fails to parse the answer: a 500). The replacement answers the version's Retention, or 404
   NoSuchObjectLockConfiguration "The specified object does not have a ObjectLock configuration".
6. DeleteObject of a locked version: moto refuses it (COMPLIANCE even with
   BypassGovernanceRetention) but with "Access Denied"; AWS says "Access Denied because object
   protected by object lock." The replacement keeps moto's decision and gives AWS's message. It
   also reads `x-amz-bypass-governance-retention: false` as false (moto took any value as a
   bypass).
7. DeleteObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html): moto's
   per-key Error for a locked version has no VersionId; AWS's has it. Added.
8. PutBucketVersioning Suspended on a bucket with Object Lock: moto allows it, after which a plain
   DeleteObject removes every version of the key, the COMPLIANCE-locked ones included. AWS
   refuses it: 409 InvalidBucketState "An Object Lock configuration is present on this bucket, so
   the versioning state cannot be changed."
9. DeleteBucket of a bucket that still has versions: moto answers AWS's 409 BucketNotEmpty; for a
   versioned bucket AWS's message adds ". You must delete all versions in the bucket."

What moto already does as AWS does (kept, and asserted by the seam tests): PutObject with
IfNoneMatch "*" on an existing key is 412 PreconditionFailed; PutObject on a locked key adds a
version; DeleteObject without a version id adds a delete marker and the locked version stays
readable by its VersionId; DeleteObjects answers AccessDenied per locked version. moto never runs
lifecycle rules, so no lifecycle action removes a locked version (or anything else).
"""
import base64
import datetime
import json
from zoneinfo import ZoneInfo

import xmltodict
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from moto.core import serialize as moto_serialize
from moto.core.errors import ErrorShape
from moto.core.exceptions import JsonRESTError
from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException
from moto.s3 import exceptions as s3_exceptions
from moto.s3 import models as s3_models
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import (AccessDeniedByLock, BucketNotEmpty, InvalidArgumentError, InvalidBucketState, MalformedXML,
                                MissingKey, MissingVersion, S3ClientError)

from hubsim.patches import Patch

PATCH = Patch(
    name="audit-anchor-kms-signing-s3-object-lock",
    replaces=(
        "moto.kms.models.KmsBackend.sign/verify and moto.kms.responses.KmsResponse.sign/verify (Verify answers "
        "SignatureValid false instead of KMSInvalidSignatureException; MessageType DIGEST hashed again; no digest "
        "length check; no 4096-byte limit); moto.s3.responses.S3Response.put_object_retention (COMPLIANCE retention "
        "changed, shortened, removed; past dates accepted), ._key_response_get (no GetObjectRetention), "
        "._bucket_response_delete_keys (Errors without VersionId), .delete_bucket (versioned BucketNotEmpty message); "
        "moto.s3.models.S3Backend.delete_object (lock message; any bypass header value bypasses), "
        ".put_bucket_versioning (Suspended allowed with Object Lock)"
    ),
    covered_by=(
        "tests/seams/test_audit_anchor.py::test_verify_of_a_bad_signature_raises_kms_invalid_signature, "
        "tests/seams/test_audit_anchor.py::test_digest_and_raw_signatures_are_the_same_signature, "
        "tests/seams/test_audit_anchor.py::test_sign_refuses_a_raw_message_over_4096_bytes_and_a_digest_of_the_wrong_length, "
        "tests/seams/test_audit_anchor.py::test_compliance_retention_cannot_be_changed_shortened_or_removed, "
        "tests/seams/test_audit_anchor.py::test_governance_retention_is_reduced_only_with_the_bypass, "
        "tests/seams/test_audit_anchor.py::test_get_object_retention_answers_the_retention_or_aws_errors, "
        "tests/seams/test_audit_anchor.py::test_a_compliance_version_is_never_deleted_and_stays_readable, "
        "tests/seams/test_audit_anchor.py::test_versioning_cannot_be_suspended_and_a_locked_bucket_is_not_deleted"
    ),
)

# --- KMS ---------------------------------------------------------------------------------------
RAW_MESSAGE_LIMIT = 4096
MESSAGE_TOO_LONG = ("1 validation error detected: Value at 'message' failed to satisfy constraint: "
                    "Member must have length less than or equal to 4096")
MESSAGE_EMPTY = ("1 validation error detected: Value at 'Message' failed to satisfy constraint: "
                 "Member must have length greater than or equal to 1")  # moto's own wording, kept
_HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


class KMSInvalidSignatureException(JsonRESTError):
    """As AWS answers it: HTTP 400, `{"__type":"KMSInvalidSignatureException"}`, no message."""

    code = 400

    def __init__(self) -> None:
        super().__init__("KMSInvalidSignatureException", "")
        self.description = '{"__type":"KMSInvalidSignatureException"}'


_original_backend_sign = kms_models.KmsBackend.sign
_original_backend_verify = kms_models.KmsBackend.verify


def _hash_of(signing_algorithm: str) -> hashes.HashAlgorithm:
    return _HASHES[signing_algorithm[-len("SHA_256"):]]()  # ECDSA_SHA_256, RSASSA_PSS_SHA_384, ...


def _signing_key(backend, key_id: str, signing_algorithm: str):
    """The key, after moto's own checks of Sign and Verify (key usage, algorithm of the key)."""
    key = backend.describe_key(key_id)
    backend._KmsBackend__ensure_valid_sign_and_verify_key(key)
    backend._KmsBackend__ensure_valid_signing_algorithm(key, signing_algorithm)
    return key


def _digest_scheme(private_key, digest: bytes, signing_algorithm: str) -> tuple:
    """(cryptography key, signature arguments) signing `digest` as prehashed, with moto's padding."""
    algorithm = _hash_of(signing_algorithm)
    if len(digest) != algorithm.digest_size:
        raise ValidationException(f"Digest is invalid length for algorithm {signing_algorithm}.")
    if isinstance(private_key, kms_utils.ECDSAPrivateKey):
        kms_utils.validate_signing_algorithm(signing_algorithm, private_key.valid_signing_algorithms)
        return private_key.private_key, (ec.ECDSA(Prehashed(algorithm)),)
    kms_utils.validate_signing_algorithm(signing_algorithm, kms_utils.SigningAlgorithm.rsa_signing_algorithms())
    pad, _ = private_key._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
    return private_key.private_key, (pad, Prehashed(algorithm))


def backend_sign(self, key_id: str, message: bytes, signing_algorithm: str, message_type: str = "RAW"):
    if message_type != "DIGEST":
        return _original_backend_sign(self, key_id, message, signing_algorithm)
    key = _signing_key(self, key_id, signing_algorithm)
    private, arguments = _digest_scheme(key.private_key, message, signing_algorithm)
    return key.arn, private.sign(message, *arguments), signing_algorithm


def backend_verify(self, key_id: str, message: bytes, signature: bytes, signing_algorithm: str, message_type: str = "RAW"):
    if message_type != "DIGEST":
        key_arn, valid, signing_algorithm = _original_backend_verify(self, key_id, message, signature, signing_algorithm)
    else:
        key = _signing_key(self, key_id, signing_algorithm)
        private, arguments = _digest_scheme(key.private_key, message, signing_algorithm)
        try:
            private.public_key().verify(signature, message, *arguments)
            valid = True
        except InvalidSignature:
            valid = False
        key_arn = key.arn
    if not valid:
        raise KMSInvalidSignatureException()
    return key_arn, True, signing_algorithm


def _message(value) -> bytes:
    message = value.encode("utf-8") if isinstance(value, str) else (value or b"")
    if message == b"":
        raise ValidationException(MESSAGE_EMPTY)
    if len(message) > RAW_MESSAGE_LIMIT:
        raise ValidationException(MESSAGE_TOO_LONG)
    return message


def response_sign(self) -> str:
    key_id = self._get_param("KeyId")
    self._validate_key_id(key_id)
    message = _message(self._get_param("Message"))
    key_arn, signature, signing_algorithm = self.kms_backend.sign(
        key_id=key_id, message=message, signing_algorithm=self._get_param("SigningAlgorithm"),
        message_type=self._get_param("MessageType") or "RAW")
    return json.dumps({"KeyId": key_arn, "Signature": base64.b64encode(signature).decode("utf-8"),
                       "SigningAlgorithm": signing_algorithm})


def response_verify(self) -> str:
    key_id = self._get_param("KeyId")
    self._validate_key_id(key_id)
    message = _message(self._get_param("Message"))
    signature = self._get_param("Signature")
    if isinstance(signature, str):
        signature = base64.b64decode(signature.encode("utf-8"))
    if not signature:
        raise ValidationException("1 validation error detected: Value at 'Signature' failed to satisfy constraint: "
                                  "Member must have length greater than or equal to 1")  # moto's own wording, kept
    key_arn, valid, signing_algorithm = self.kms_backend.verify(
        key_id=key_id, message=message, signature=signature, signing_algorithm=self._get_param("SigningAlgorithm"),
        message_type=self._get_param("MessageType") or "RAW")
    return json.dumps({"KeyId": key_arn, "SignatureValid": valid, "SigningAlgorithm": signing_algorithm})


# --- S3 Object Lock ----------------------------------------------------------------------------
LOCKED = "Access Denied because object protected by object lock."
PAST_DATE = "The retain until date must be in the future!"
NO_RETENTION = "The specified object does not have a ObjectLock configuration"
NO_LOCK = "Bucket is missing Object Lock Configuration"
VERSIONING_LOCKED = "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
NOT_EMPTY_VERSIONED = "The bucket you tried to delete is not empty. You must delete all versions in the bucket."
MODES = ("GOVERNANCE", "COMPLIANCE")


class ObjectLocked(AccessDeniedByLock):
    """403 AccessDenied with AWS's message; still an AccessDeniedByLock, which DeleteObjects catches."""

    def __init__(self) -> None:
        S3ClientError.__init__(self, "AccessDenied", LOCKED)


class LockRequired(S3ClientError):
    def __init__(self) -> None:
        super().__init__("InvalidRequest", NO_LOCK)


class NoSuchObjectLockConfiguration(S3ClientError):
    code = "NoSuchObjectLockConfiguration"
    hubsim_http_status = 404

    def __init__(self) -> None:
        super().__init__(NO_RETENTION)


class VersionedBucketNotEmpty(BucketNotEmpty):
    def __init__(self, bucket_name: str) -> None:
        super().__init__(bucket_name)
        self.message = NOT_EMPTY_VERSIONED
        self.args = (NOT_EMPTY_VERSIONED,)


def _moment(value) -> datetime.datetime | None:
    """A retain-until date as moto stores it (ISO 8601 text from a header or the XML body)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _bypasses(value) -> bool:
    return str(value).strip().lower() == "true" if isinstance(value, str) else bool(value)


def _locked_version(response, bucket_name: str, key_name: str, version_id: str | None):
    bucket = response.backend.get_bucket(bucket_name)
    if not bucket.object_lock_enabled:
        raise LockRequired()
    key = response.backend.get_object(bucket_name, key_name, version_id=version_id)
    if key is None:
        raise MissingVersion(key=key_name, version_id=version_id) if version_id else MissingKey(key=key_name)
    return key


def put_object_retention(self):
    key_name = self.parse_key_name()
    key = _locked_version(self, self.bucket_name, key_name, self._get_param("versionId"))
    try:
        retention = (xmltodict.parse(self.body) or {}).get("Retention") or {}
    except Exception:
        raise MalformedXML() from None
    mode, until_text = retention.get("Mode"), retention.get("RetainUntilDate")
    if (mode or until_text) and (mode not in MODES or not until_text):
        raise MalformedXML()
    until = _moment(until_text)
    if until is not None and until < _now():
        pacific = until.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%a %b %d %H:%M:%S %Z %Y")
        raise InvalidArgumentError(PAST_DATE, "RetainUntilDate", pacific)
    current_until = _moment(key.lock_until)
    in_effect = key.lock_mode in MODES and current_until is not None and current_until > _now()
    reduces = in_effect and (until is None or until < current_until or (mode == "GOVERNANCE" and key.lock_mode == "COMPLIANCE"))
    bypass = _bypasses(self.headers.get("x-amz-bypass-governance-retention", ""))
    if reduces and (key.lock_mode == "COMPLIANCE" or not bypass):
        raise ObjectLocked()
    key.lock_mode, key.lock_until = (mode, until_text) if until is not None else (None, None)
    response_headers = self._get_cors_headers_other()
    self._get_checksum(response_headers)
    return 200, response_headers, ""


def get_object_retention(self):
    key_name = self.parse_key_name()
    key = _locked_version(self, self.bucket_name, key_name, self._get_param("versionId"))
    if key.lock_mode not in MODES or not key.lock_until:
        raise NoSuchObjectLockConfiguration()
    self.data["Action"] = "GetObjectRetention"
    return self.serialized(s3_responses.ActionResult(
        {"Retention": {"Mode": key.lock_mode, "RetainUntilDate": _moment(key.lock_until)}}))


_original_key_response_get = s3_responses.S3Response._key_response_get


def key_response_get(self, query, key_name):
    if "retention" not in query:
        return _original_key_response_get(self, query, key_name)
    self._set_action("KEY", "GET", query)  # authorised as moto authorises every GET of a key
    self._authenticate_and_authorize_s3_action(bucket_name=self.bucket_name, key_name=key_name)
    return self.get_object_retention()


_original_delete_object = s3_models.S3Backend.delete_object


def delete_object(self, bucket_name: str, key_name: str, version_id: str | None = None, bypass=False):
    self.get_bucket(bucket_name)  # its AccessDeniedByLock (another account's bucket) is not a lock
    try:
        return _original_delete_object(self, bucket_name, key_name, version_id=version_id, bypass=_bypasses(bypass))
    except ObjectLocked:
        raise
    except AccessDeniedByLock:
        raise ObjectLocked() from None


def bucket_response_delete_keys(self, bucket_name: str, authenticated: bool = True):
    """moto's DeleteObjects, each Error with the VersionId the request named (as AWS answers)."""
    from moto.iam.access_control import PermissionResult

    body = xmltodict.parse(self.body, strip_whitespace=False)
    bypass = _bypasses(self.headers.get("x-amz-bypass-governance-retention", ""))
    objects = body["Delete"].get("Object", [])
    objects = objects if isinstance(objects, list) else [objects]
    if not objects:
        raise MalformedXML()
    deleted, errors = [], []
    for obj in objects:
        key_name, version_id = obj["Key"], obj.get("VersionId")
        if not authenticated:
            errors.append((key_name, version_id, "AccessDenied", "Access Denied"))
            continue
        bucket = self.backend.get_bucket(bucket_name)
        if bucket.get_permission("s3:DeleteObject", f"arn:aws:s3:::{bucket_name}/{key_name}") == PermissionResult.DENIED:
            errors.append((key_name, version_id, "AccessDenied", "Access Denied"))
            continue
        try:
            _, meta = self.backend.delete_object(bucket_name, key_name, version_id=version_id, bypass=bypass)
        except AccessDeniedByLock:
            errors.append((key_name, version_id, "AccessDenied", LOCKED))
            continue
        marker = meta.get("version-id") if meta and not version_id else None
        deleted.append({"Key": key_name, "VersionId": version_id or None, "DeleteMarkerVersionId": marker,
                        "DeleteMarker": True if marker else None})
    self.data["Action"] = "DeleteObjects"
    return self.serialized(s3_responses.ActionResult({
        "Deleted": deleted,
        "Errors": [{"Key": k, "VersionId": v or None, "Code": c, "Message": m} for k, v, c, m in errors],
    }))


_original_put_bucket_versioning = s3_models.S3Backend.put_bucket_versioning


def put_bucket_versioning(self, bucket_name: str, status: str) -> None:
    if status == "Suspended" and self.get_bucket(bucket_name).object_lock_enabled:
        raise _InvalidBucketState409(VERSIONING_LOCKED)
    _original_put_bucket_versioning(self, bucket_name, status)


class _InvalidBucketState409(InvalidBucketState):
    """InvalidBucketState, HTTP 409 as AWS answers it."""

    hubsim_http_status = 409


_original_get_error_model = moto_serialize.get_error_model


def get_error_model(error: Exception, default_service_model):
    """moto takes an error's HTTP status from the service model's error shapes, and S3's model has
    none for InvalidBucketState or NoSuchObjectLockConfiguration (moto answers 400): the errors of
    this module name theirs (`hubsim_http_status`)."""
    shape = _original_get_error_model(error, default_service_model)
    status = getattr(error, "hubsim_http_status", None)
    if status is None or "httpStatusCode" in shape.metadata.get("error", {}):
        return shape
    model = {**shape._shape_model, "error": {**shape._shape_model.get("error", {}), "httpStatusCode": status}}
    return ErrorShape(shape.name, model, getattr(shape, "_shape_resolver", None))


_original_delete_bucket = s3_responses.S3Response.delete_bucket


def delete_bucket(self):
    try:
        return _original_delete_bucket(self)
    except VersionedBucketNotEmpty:
        raise
    except BucketNotEmpty:
        if self.backend.get_bucket(self.bucket_name).versioning_status:
            raise VersionedBucketNotEmpty(self.bucket_name) from None
        raise


def _check_seams() -> None:
    """What the replacements reach into: fail at apply time, not in a workflow, if moto moved it."""
    missing = [name for owner, name in (
        (kms_models.KmsBackend, "_KmsBackend__ensure_valid_sign_and_verify_key"),
        (kms_models.KmsBackend, "_KmsBackend__ensure_valid_signing_algorithm"),
        (kms_utils.RSAPrivateKey, "_RSAPrivateKey__padding_and_hash_algorithm"),
        (s3_responses.S3Response, "_authenticate_and_authorize_s3_action"),
        (s3_responses.S3Response, "_get_cors_headers_other"),
        (s3_responses, "ActionResult"),
        (s3_exceptions, "AccessDeniedByLock"),
        (moto_serialize, "get_error_model"),
    ) if not hasattr(owner, name)]
    if missing:
        raise RuntimeError(f"hubsim.patches.audit_anchor: moto no longer has {missing}")


def apply() -> None:
    _check_seams()
    kms_models.KmsBackend.sign = backend_sign
    kms_models.KmsBackend.verify = backend_verify
    kms_responses.KmsResponse.sign = response_sign
    kms_responses.KmsResponse.verify = response_verify
    s3_responses.S3Response.put_object_retention = put_object_retention
    s3_responses.S3Response.get_object_retention = get_object_retention
    s3_responses.S3Response._key_response_get = key_response_get
    s3_responses.S3Response._bucket_response_delete_keys = bucket_response_delete_keys
    s3_responses.S3Response.delete_bucket = delete_bucket
    s3_models.S3Backend.delete_object = delete_object
    s3_models.S3Backend.put_bucket_versioning = put_bucket_versioning
    moto_serialize.get_error_model = get_error_model
