"""Seam tests of hubsim/patches/audit_anchor.py: KMS Sign/Verify and S3 Object Lock in COMPLIANCE mode,
what signed, locked audit digests rely on.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an audit run. The error codes and messages asserted are
AWS's (the module's docstring cites where each comes from). What moto already does as AWS does is
asserted alongside, so that a moto change there shows up here too.
"""
import datetime
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

LOCKED = "Access Denied because object protected by object lock."
DOCUMENT = b'{"period":"2026-11","digest_of":"audit/2026/11/*.jsonl","entries":1042}'


def _error(raised: pytest.ExceptionInfo) -> tuple:
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"].get("Message")


def _signing_key(engine) -> str:
    return engine.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]


def _sign(kms, key: str, message: bytes, message_type: str) -> bytes:
    return kms.sign(KeyId=key, Message=message, MessageType=message_type, SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def _verify(kms, key: str, message: bytes, message_type: str, signature: bytes) -> dict:
    return kms.verify(KeyId=key, Message=message, MessageType=message_type, Signature=signature, SigningAlgorithm="ECDSA_SHA_256")


# --- KMS -----------------------------------------------------------------------------------------
def test_verify_of_a_bad_signature_raises_kms_invalid_signature(engine):
    kms = engine.client("kms")
    key = _signing_key(engine)
    signature = _sign(kms, key, DOCUMENT, "RAW")
    good = _verify(kms, key, DOCUMENT, "RAW", signature)
    assert good["SignatureValid"] is True and good["SigningAlgorithm"] == "ECDSA_SHA_256"
    assert good["KeyId"].endswith(f":key/{key}")

    # A tampered document, another document's signature, bytes that are no signature at all:
    # Verify fails (HTTP 400, KMSInvalidSignatureException, no message), it never answers "false"
    other = _sign(kms, key, b"another digest", "RAW")
    for message, candidate in ((DOCUMENT + b" ", signature), (DOCUMENT, other), (DOCUMENT, b"\x30\x02\x00\x00")):
        with pytest.raises(kms.exceptions.KMSInvalidSignatureException) as refused:
            _verify(kms, key, message, "RAW", candidate)
        assert _error(refused) == (400, "KMSInvalidSignatureException", "")
    digest = hashlib.sha256(DOCUMENT).digest()
    with pytest.raises(ClientError) as refused:
        _verify(kms, key, digest, "DIGEST", other)
    assert _error(refused) == (400, "KMSInvalidSignatureException", "")


def test_digest_and_raw_signatures_are_the_same_signature(engine):
    """A DIGEST is the message's hash, not hashed again: "A message and its hash digest are
    considered to be the same message" (Verify), and either signature verifies with the public key."""
    kms = engine.client("kms")
    key = _signing_key(engine)
    digest = hashlib.sha256(DOCUMENT).digest()
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    for signature in (_sign(kms, key, digest, "DIGEST"), _sign(kms, key, DOCUMENT, "RAW")):
        assert _verify(kms, key, DOCUMENT, "RAW", signature)["SignatureValid"] is True
        assert _verify(kms, key, digest, "DIGEST", signature)["SignatureValid"] is True
        public_key.verify(signature, DOCUMENT, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature if not
        public_key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    # Without MessageType, Message is RAW (a digest sent that way is hashed again: another message)
    default = kms.sign(KeyId=key, Message=DOCUMENT, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    public_key.verify(default, DOCUMENT, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ClientError) as refused:
        _verify(kms, key, DOCUMENT, "RAW", kms.sign(KeyId=key, Message=digest, SigningAlgorithm="ECDSA_SHA_256")["Signature"])
    assert _error(refused)[1] == "KMSInvalidSignatureException"


def test_sign_refuses_a_raw_message_over_4096_bytes_and_a_digest_of_the_wrong_length(engine):
    kms = engine.client("kms")
    key = _signing_key(engine)
    signature = _sign(kms, key, b"a" * 4096, "RAW")  # "Messages can be 0-4096 bytes"
    assert _verify(kms, key, b"a" * 4096, "RAW", signature)["SignatureValid"] is True
    too_long = ("1 validation error detected: Value at 'message' failed to satisfy constraint: "
                "Member must have length less than or equal to 4096")
    with pytest.raises(ClientError) as refused:
        _sign(kms, key, b"a" * 4097, "RAW")
    assert _error(refused) == (400, "ValidationException", too_long)
    with pytest.raises(ClientError) as refused:
        _verify(kms, key, b"a" * 4097, "RAW", signature)
    assert _error(refused) == (400, "ValidationException", too_long)
    # A DIGEST for ECDSA_SHA_256 is exactly 32 bytes, when signing and when verifying
    for wrong in (hashlib.sha256(DOCUMENT).digest()[:31], hashlib.sha384(DOCUMENT).digest(), DOCUMENT):
        with pytest.raises(ClientError) as refused:
            _sign(kms, key, wrong, "DIGEST")
        assert _error(refused) == (400, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.")
        with pytest.raises(ClientError) as refused:
            _verify(kms, key, wrong, "DIGEST", signature)
        assert _error(refused) == (400, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.")


# --- S3 Object Lock --------------------------------------------------------------------------------
def _in(**delta) -> datetime.datetime:
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)).replace(microsecond=0)


def _anchor_bucket(s3, name: str = "audit-anchors") -> str:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _locked_version(s3, bucket: str, mode: str, until: datetime.datetime, key: str = "digests/2026-11.json") -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=DOCUMENT, ObjectLockMode=mode, ObjectLockRetainUntilDate=until)["VersionId"]


def _retention(s3, bucket: str, version: str, key: str = "digests/2026-11.json") -> tuple:
    """(mode, retain-until) of a version as HeadObject answers them (GetObjectRetention: its own test)."""
    head = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")


def test_compliance_retention_cannot_be_changed_shortened_or_removed(engine):
    s3 = engine.client("s3")
    bucket, key = _anchor_bucket(s3), "digests/2026-11.json"
    until = _in(days=1)
    version = _locked_version(s3, bucket, "COMPLIANCE", until)
    assert _retention(s3, bucket, version) == ("COMPLIANCE", until)

    def put(retention: dict, **bypass):
        return s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version, Retention=retention, **bypass)

    # Shortened, turned into GOVERNANCE (even with a later date), removed: refused, bypass or not
    for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": _in(hours=1)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": _in(days=3)},
                      {}):
        for bypass in ({}, {"BypassGovernanceRetention": True}):
            with pytest.raises(ClientError) as refused:
                put(retention, **bypass)
            assert _error(refused) == (403, "AccessDenied", LOCKED), (retention, bypass)
    # A date in the past is not a retention at all
    with pytest.raises(ClientError) as refused:
        put({"Mode": "GOVERNANCE", "RetainUntilDate": _in(days=-1)}, BypassGovernanceRetention=True)
    assert _error(refused) == (400, "InvalidArgument", "The retain until date must be in the future!")
    assert refused.value.response["Error"]["ArgumentName"] == "RetainUntilDate"
    assert _retention(s3, bucket, version) == ("COMPLIANCE", until)
    # So the version cannot be deleted through a weakened retention (the path moto allowed)
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)
    assert _error(refused) == (403, "AccessDenied", LOCKED)

    # Extending stays allowed, and is what HeadObject and GetObjectRetention then answer
    longer = _in(days=30)
    put({"Mode": "COMPLIANCE", "RetainUntilDate": longer})
    assert _retention(s3, bucket, version) == ("COMPLIANCE", longer)
    assert s3.get_object_retention(Bucket=bucket, Key=key, VersionId=version)["Retention"] == {
        "Mode": "COMPLIANCE", "RetainUntilDate": longer}
    with pytest.raises(ClientError) as refused:
        put({"Mode": "COMPLIANCE", "RetainUntilDate": until})  # back to the first date: shorter now
    assert _error(refused) == (403, "AccessDenied", LOCKED)


def test_governance_retention_is_reduced_only_with_the_bypass(engine):
    s3 = engine.client("s3")
    bucket, key = _anchor_bucket(s3), "digests/2026-11.json"
    version = _locked_version(s3, bucket, "GOVERNANCE", _in(days=2))
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": _in(days=1)}
    for bypass in ({}, {"BypassGovernanceRetention": False}):
        with pytest.raises(ClientError) as refused:
            s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version, Retention=shorter, **bypass)
        assert _error(refused) == (403, "AccessDenied", LOCKED)
        with pytest.raises(ClientError) as refused:  # "false" is no bypass (moto took any value as one)
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version, **bypass)
        assert _error(refused) == (403, "AccessDenied", LOCKED)
    s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version, Retention=shorter, BypassGovernanceRetention=True)
    assert _retention(s3, bucket, version) == ("GOVERNANCE", shorter["RetainUntilDate"])
    # GOVERNANCE to COMPLIANCE is allowed; after it, not even the bypass deletes the version
    s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter["RetainUntilDate"]})
    assert _retention(s3, bucket, version) == ("COMPLIANCE", shorter["RetainUntilDate"])
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)
    assert _error(refused) == (403, "AccessDenied", LOCKED)


def test_get_object_retention_answers_the_retention_or_aws_errors(engine):
    s3 = engine.client("s3")
    bucket = _anchor_bucket(s3)
    unlocked = s3.put_object(Bucket=bucket, Key="plain.json", Body=b"{}")["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3.get_object_retention(Bucket=bucket, Key="plain.json", VersionId=unlocked)
    assert _error(refused) == (404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration")
    with pytest.raises(ClientError) as refused:
        s3.get_object_retention(Bucket=bucket, Key="missing.json")
    assert _error(refused)[:2] == (404, "NoSuchKey")
    s3.create_bucket(Bucket="no-object-lock")
    s3.put_object(Bucket="no-object-lock", Key="k", Body=b"{}")
    for call in (lambda: s3.get_object_retention(Bucket="no-object-lock", Key="k"),
                 lambda: s3.put_object_retention(Bucket="no-object-lock", Key="k",
                                                 Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _in(days=1)})):
        with pytest.raises(ClientError) as refused:
            call()
        assert _error(refused) == (400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
    with pytest.raises(ClientError) as refused:
        s3.put_object_retention(Bucket=bucket, Key="plain.json", Retention={"Mode": "FOREVER", "RetainUntilDate": _in(days=1)})
    assert _error(refused)[:2] == (400, "MalformedXML")


def test_a_compliance_version_is_never_deleted_and_stays_readable(engine):
    s3 = engine.client("s3")
    bucket, key = _anchor_bucket(s3), "digests/2026-11.json"
    version = _locked_version(s3, bucket, "COMPLIANCE", _in(days=1))

    # DeleteObject of the version: AccessDenied, with or without BypassGovernanceRetention
    for bypass in ({}, {"BypassGovernanceRetention": True}):
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version, **bypass)
        assert _error(refused) == (403, "AccessDenied", LOCKED)
        # DeleteObjects answers the refusal per key, with the version it names
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key, "VersionId": version}]}, **bypass)
        assert answer.get("Deleted", []) == []
        assert answer["Errors"] == [{"Key": key, "VersionId": version, "Code": "AccessDenied", "Message": LOCKED}]

    # moto already does as AWS: a conditional create of an existing key is refused (412) ...
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key=key, Body=b"forged", IfNoneMatch="*")
    assert _error(refused)[:2] == (412, "PreconditionFailed")
    # ... an unconditional one adds a version, and a delete without a version adds a delete marker
    newer = s3.put_object(Bucket=bucket, Key=key, Body=b"newer")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key=key)
    assert marker["DeleteMarker"] is True and marker["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key=key)
    assert _error(refused)[:2] == (404, "NoSuchKey")
    # The locked version is still there, unchanged, readable by its VersionId
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read() == DOCUMENT
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
    assert {v["VersionId"] for v in versions["Versions"]} == {version, newer}
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [marker["VersionId"]]
    # An unlocked version (the newer one) is deleted by its VersionId as usual
    s3.delete_object(Bucket=bucket, Key=key, VersionId=newer)
    assert {v["VersionId"] for v in s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]} == {version}


def test_versioning_cannot_be_suspended_and_a_locked_bucket_is_not_deleted(engine):
    s3 = engine.client("s3")
    bucket, key = _anchor_bucket(s3), "digests/2026-11.json"
    version = _locked_version(s3, bucket, "COMPLIANCE", _in(days=1))
    # Suspending versioning would let a plain DeleteObject remove every version in moto: AWS refuses it
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert _error(refused) == (409, "InvalidBucketState",
                               "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read() == DOCUMENT
    # A bucket that still holds versions is not deleted (409 BucketNotEmpty, AWS's message for a versioned bucket)
    with pytest.raises(ClientError) as refused:
        s3.delete_bucket(Bucket=bucket)
    assert _error(refused) == (409, "BucketNotEmpty",
                               "The bucket you tried to delete is not empty. You must delete all versions in the bucket.")
    # An unversioned bucket keeps moto's (and AWS's) shorter message
    s3.create_bucket(Bucket="scratch")
    s3.put_object(Bucket="scratch", Key="k", Body=b"{}")
    with pytest.raises(ClientError) as refused:
        s3.delete_bucket(Bucket="scratch")
    assert _error(refused) == (409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
