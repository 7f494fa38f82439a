"""Seam tests of the object tags an S3 request sets, as IAM sees them (hubsim/patches/authz.py), and
of GetCallerIdentity's UserId (hubsim/patches/sts.py): together they let a bucket policy require
that an object's tag be its uploader's own aws:userid, as the research spoke's
DenyManifestWithoutVerifiedSubmitter does.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"""
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from hubsim import deploy
from hubsim.sample_model import submitter_tagging

from .conftest import HUB_ACCOUNT, SPOKE_ACCOUNT as RESEARCH
from .test_authz import _allow, _role, _root, _session

BUCKET = "research-drops"
MANIFEST = "models/m1/1.0.0/import.json"
TRUST_RESEARCH = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{RESEARCH}:root"}, "Action": "sts:AssumeRole"}]}
WRITE = _allow({"Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": f"arn:aws:s3:::{BUCKET}/*"})


def _spoke_statement(bucket_arn: str) -> dict:
    """The spoke's own statement (spokes/research.yaml), its ${ArtifactBucket.Arn} resolved."""
    template = deploy.load_template(deploy.ROOT / "spokes" / "research.yaml")
    statements = template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [deny] = [s for s in statements if s.get("Sid") == "DenyManifestWithoutVerifiedSubmitter"]
    deny["Resource"] = [r["Fn::Sub"].replace("${ArtifactBucket.Arn}", bucket_arn) for r in deny["Resource"]]
    return deny


@pytest.fixture
def research(engine):
    """The research account's root session and a bucket with the spoke's manifest statement."""
    admin = _root(RESEARCH)
    s3 = admin.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [_spoke_statement(f"arn:aws:s3:::{BUCKET}")]}))
    return admin


def _person(admin: boto3.Session, role: str, name: str) -> boto3.Session:
    creds = admin.client("sts").assume_role(RoleArn=role, RoleSessionName=name)["Credentials"]
    return _session(creds)


def _user_id(session: boto3.Session) -> str:
    return session.client("sts").get_caller_identity()["UserId"]


def _refused(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_a_manifest_is_accepted_only_tagged_with_its_uploaders_own_userid(research):
    # Given two people of the research account, sessions of one pipeline role
    role = _role("pipeline", WRITE, account=RESEARCH, trust=TRUST_RESEARCH)
    alice, bob = _person(research, role, "alice@example.com"), _person(research, role, "bob@example.com")
    alice_id, bob_id = _user_id(alice), _user_id(bob)
    assert alice_id.startswith("AROA") and alice_id.endswith(":alice@example.com")
    s3 = alice.client("s3")

    # When alice writes the manifest tagged with her own UserId: accepted, and the tag is stored
    s3.put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}", Tagging=submitter_tagging(alice_id))
    tags = research.client("s3").get_object_tagging(Bucket=BUCKET, Key=MANIFEST)["TagSet"]
    assert tags == [{"Key": "genai-hub-submitted-by", "Value": alice_id}]

    # Then without the tag, with bob's id, or with a second tag key but another value: AccessDenied
    for tagging in (None, submitter_tagging(bob_id), f"genai-hub-submitted-by=x&other={alice_id}"):
        kwargs = {"Tagging": tagging} if tagging else {}
        assert _refused(lambda: s3.put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}", **kwargs)) == "AccessDenied", tagging
    # a manifest at the bucket's top level too; other objects need no tag
    assert _refused(lambda: s3.put_object(Bucket=BUCKET, Key="import.json", Body=b"{}")) == "AccessDenied"
    s3.put_object(Bucket=BUCKET, Key="models/m1/1.0.0/config.json", Body=b"{}")
    # and the tag is changed only to the changer's own id, and never deleted
    retag = {"TagSet": [{"Key": "genai-hub-submitted-by", "Value": bob_id}]}
    assert _refused(lambda: s3.put_object_tagging(Bucket=BUCKET, Key=MANIFEST, Tagging=retag)) == "AccessDenied"
    bob.client("s3").put_object_tagging(Bucket=BUCKET, Key=MANIFEST, Tagging=retag)
    assert _refused(lambda: s3.delete_object_tagging(Bucket=BUCKET, Key=MANIFEST)) == "AccessDenied"


def test_the_root_user_and_an_iam_user_tag_with_their_own_ids(research):
    # The account's root: its aws:userid and GetCallerIdentity's UserId are the account id
    assert _user_id(research) == RESEARCH
    research.client("s3").put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}", Tagging=submitter_tagging(RESEARCH))
    # An IAM user: AIDA...
    iam = research.client("iam")
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="write", PolicyDocument=WRITE)
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
    carol_id = _user_id(carol)
    assert carol_id == iam.get_user(UserName="carol")["User"]["UserId"]
    carol.client("s3").put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}", Tagging=submitter_tagging(carol_id))
    assert _refused(lambda: carol.client("s3").put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}",
                                                          Tagging=submitter_tagging(RESEARCH))) == "AccessDenied"


def test_a_put_that_sets_tags_also_needs_put_object_tagging(research):
    # Given a role allowed s3:PutObject only
    role = _role("untagging", _allow({"Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}),
                 account=RESEARCH, trust=TRUST_RESEARCH)
    s3 = _person(research, role, "dave").client("s3")

    # Then an object without tags is written, one with tags is refused (any key)
    s3.put_object(Bucket=BUCKET, Key="models/m1/1.0.0/config.json", Body=b"{}")
    assert _refused(lambda: s3.put_object(Bucket=BUCKET, Key="models/m1/1.0.0/config.json", Body=b"{}",
                                          Tagging="team=research")) == "AccessDenied"


def test_a_copy_sets_request_tags_only_with_the_replace_directive(research):
    role = _role("copier", _allow({"Action": ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:GetObjectTagging"],
                                   "Resource": f"arn:aws:s3:::{BUCKET}/*"}), account=RESEARCH, trust=TRUST_RESEARCH)
    erin = _person(research, role, "erin")
    s3, own = erin.client("s3"), submitter_tagging(_user_id(erin))
    s3.put_object(Bucket=BUCKET, Key="staging/import.json", Body=b"{}", Tagging=own)
    source = {"Bucket": BUCKET, "Key": "staging/import.json"}

    # COPY (the default) copies the source's tags: the request sets none, so the manifest is refused
    assert _refused(lambda: s3.copy_object(Bucket=BUCKET, Key=MANIFEST, CopySource=source)) == "AccessDenied"
    # REPLACE with the copier's own id: accepted
    s3.copy_object(Bucket=BUCKET, Key=MANIFEST, CopySource=source, TaggingDirective="REPLACE", Tagging=own)


def test_another_account_reads_the_tags_the_owner_put(research):
    """hubsim/patches/s3.py item 7: the tags live with the bucket's account, whoever reads them."""
    research.client("s3").put_object(Bucket=BUCKET, Key=MANIFEST, Body=b"{}", Tagging=submitter_tagging(RESEARCH))
    reader = _role("hub-reader", _allow({"Action": ["s3:GetObject", "s3:GetObjectTagging"], "Resource": f"arn:aws:s3:::{BUCKET}/*"}))
    policy = json.loads(research.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])
    policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": reader}, "Action": "s3:GetObjectTagging",
                                "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    research.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    hub = _session(boto3.client("sts").assume_role(RoleArn=reader, RoleSessionName="import")["Credentials"])
    assert hub.client("s3").get_object_tagging(Bucket=BUCKET, Key=MANIFEST)["TagSet"] == [
        {"Key": "genai-hub-submitted-by", "Value": RESEARCH}]


def test_caller_identity_is_the_userid_policies_compare(engine):
    """GetCallerIdentity answers for the principal authz evaluates: a root's UserId is its account id
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html), where moto
    answered a fake user or the engine's account-switch session."""
    for session, account in ((boto3.Session(region_name="us-east-1"), HUB_ACCOUNT), (_root(RESEARCH), RESEARCH)):
        identity = session.client("sts").get_caller_identity()
        assert (identity["UserId"], identity["Account"], identity["Arn"]) == (account, account, f"arn:aws:iam::{account}:root")
