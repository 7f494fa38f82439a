"""Every IAM policy of the project against IAM's own reference, offline: each action exists in its
service (a wildcard names at least one), each condition key is a global key or one the service
defines and the statement's actions support, and each Resource ARN fits the ARN format of a resource
type its action supports (or is "*"). The policies are those of template.yaml after the SAM
transform (so the statements of SAM policy templates and connectors too) and of the spokes, read as
deployed (stack genai-hub, account 123456789012, us-east-1), and those the handlers write at run
time (layer/genai_hub/access.py). The reference and the check live in tests/iam_reference.py."""
import re

import pytest
from iam_reference import GLOBAL_KEYS_PAGE, Deployment, Figures, Reference, arn_fits, template_policies
from test_security_static import PSEUDO, TEMPLATES, _packaged

from genai_hub import access
from hubsim.deploy import translate

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference"
HUB, RESEARCH = PSEUDO["AWS::AccountId"], "222222222222"
# Parameters without a usable default, and the optional ones set so that every Fn::If branch is read.
SAMPLES = {
    "ResearchRegion": "eu-west-1", "TenantOrganizationId": "o-abcdefghij",
    "AlarmTopicArn": f"arn:aws:sns:us-east-1:{HUB}:ops-alarms", "ArtifactBucketName": "genai-research-artifacts",
    "HubAccountId": HUB, "HubEventBusArn": f"arn:aws:events:us-east-1:{HUB}:event-bus/genai-hub",
    "HubImportRoleArn": f"arn:aws:iam::{HUB}:role/genai-hub-model-import",
    "HubGrantsVerifierRoleArn": f"arn:aws:iam::{HUB}:role/genai-hub-grants-verifier",
    "ExternalId": "research-hub-external-id", "ResearchExternalId": "research-hub-external-id",
    "ResearchAccountId": "111111111111", "ResearchArtifactBucketName": "genai-research-artifacts-111111111111",
    "HubCredentialsFunctionArn": f"arn:aws:lambda:us-east-1:{HUB}:function:genai-hub-vend-tenant-credentials",
}
# Policies with a defect found and not yet fixed: {policy: reason}, run as strict xfail (none today;
# bedrock:CreateModelImportJob on ARNs was the first, fixed in template.yaml).
KNOWN_DEFECTS: dict[str, str] = {}

REFERENCE = Reference()


def _translated() -> list[tuple[str, dict]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
        return [(path.name, translate(_packaged(path), {})) for path in TEMPLATES]


TRANSLATED = _translated()
TEMPLATE_POLICIES = [(f"{name}:{where}", cfn, document) for name, cfn in TRANSLATED
                     for where, document in template_policies(cfn)]


def _runtime_policies() -> list[tuple[str, dict]]:
    """What the handlers write: a vended session's policy (without and with imported models) and the
    tenant access role's revocation policy (a few entries; so many that it collapses to one)."""
    imported = [f"arn:aws:bedrock:us-east-1:{HUB}:imported-model/{n:012x}" for n in range(3)]
    few = [{"tenant_id": t, "revoked_before": f"2026-06-01T10:0{n}:00Z"} for n, t in enumerate(["acme", "globex", "acme-eu"])]
    many = [{"tenant_id": f"tenant-{n:04d}", "revoked_before": f"2026-06-01T{n // 60 % 24:02d}:{n % 60:02d}:00Z"} for n in range(400)]
    collapsed = access.revocation_policy(many)
    assert [s["Sid"] for s in collapsed["Statement"]] == ["RevokedEveryone"], "400 entries should collapse"
    return [
        ("access.session_policy(no imported models)", access.session_policy(HUB, [])),
        ("access.session_policy(3 imported models)", access.session_policy(HUB, imported)),
        ("access.session_policy(aws-us-gov)", access.session_policy(HUB, [imported[0].replace("arn:aws:", "arn:aws-us-gov:")], "aws-us-gov")),
        ("access.revocation_policy(3 entries)", access.revocation_policy(few)),
        ("access.revocation_policy(collapsed)", collapsed),
    ]


RUNTIME_POLICIES = _runtime_policies()


def _deployed(cfn: dict, document: dict) -> dict:
    return Deployment(cfn, PSEUDO, SAMPLES).document(document)


def _params(policies, known: dict):
    return [pytest.param(*rest, id=policy_id,
                         marks=[pytest.mark.xfail(strict=True, reason=known[policy_id])] if policy_id in known else [])
            for policy_id, *rest in policies]


def test_the_reference_knows_the_bedrock_features_the_hub_uses():
    """Bedrock's page of the Service Authorization Reference
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html) lists
    these; a database too old to know them would reject correct policies."""
    for action in ("bedrock:CreateInferenceProfile", "bedrock:GetImportedModel", "bedrock:CreateModelImportJob"):
        assert REFERENCE.expand(action), f"{REFERENCE.version()} does not know {action}"
    invoke = REFERENCE.expand("bedrock:InvokeModel")[0]
    assert invoke.supports_key("bedrock:InferenceProfileArn")
    assert "application-inference-profile" in invoke.formats and "imported-model" in invoke.formats


@pytest.mark.parametrize("cfn, document", _params(TEMPLATE_POLICIES, KNOWN_DEFECTS))
def test_template_policy_fits_the_reference(cfn, document):
    """Each action, condition key and resource of one policy of a template, after the Service
    Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html)
    and the IAM global condition keys (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    problems, _ = REFERENCE.check(_deployed(cfn, document))
    assert problems == []


@pytest.mark.parametrize("document", _params(RUNTIME_POLICIES, {}))
def test_runtime_policy_fits_the_reference(document):
    """The same check (Service Authorization Reference and global keys) for a policy a handler writes."""
    problems, _ = REFERENCE.check(document)
    assert problems == []


def test_every_policy_bearing_resource_is_checked():
    """Identity, trust, resource-based and key policies, and Lambda permissions (statements of the
    function's resource-based policy): each such resource of each template yields a policy here."""
    kinds = {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::S3::BucketPolicy",
             "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::KMS::Key", "AWS::Events::EventBusPolicy",
             "AWS::Lambda::Permission"}
    for name, cfn in TRANSLATED:
        found = {where.split(".")[0] for where, _ in template_policies(cfn)}
        expected = {logical for logical, resource in cfn["Resources"].items() if resource["Type"] in kinds}
        assert expected <= found, f"{name}: no policy found for {sorted(expected - found)}"
        roles = [logical for logical, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
        trusts = {where.split(".")[0] for where, _ in template_policies(cfn) if where.endswith("AssumeRolePolicyDocument")}
        assert set(roles) <= trusts, f"{name}: trust policies missing"


def test_sample_parameter_values_are_ones_the_templates_accept():
    """A sample stands in for a value a deployment could pass: it matches the parameter's AllowedPattern."""
    parameters = {k: v for _, cfn in TRANSLATED for k, v in cfn.get("Parameters", {}).items()}
    for name, value in SAMPLES.items():
        assert name in parameters, f"sample for a parameter no template has: {name}"
        pattern = parameters[name].get("AllowedPattern")
        assert pattern is None or re.fullmatch(pattern, value), f"{name}={value} does not match {pattern}"


def test_figures(record_property):
    """What was checked, in the test summary (policies, statements, actions, condition keys, resources)."""
    total, by_source = Figures(), {}
    for policy_id, cfn, document in TEMPLATE_POLICIES:
        _, figures = REFERENCE.check(_deployed(cfn, document))
        by_source.setdefault(policy_id.split(":")[0], Figures()).add(figures)
    for _, document in RUNTIME_POLICIES:
        _, figures = REFERENCE.check(document)
        by_source.setdefault("runtime (access.py)", Figures()).add(figures)
    for figures in by_source.values():
        total.add(figures)
    assert total.policies == len(TEMPLATE_POLICIES) + len(RUNTIME_POLICIES)
    assert total.statements and total.actions and total.condition_keys and total.resources
    detail = "; ".join(f"{source}: {figures.policies} policies" for source, figures in by_source.items())
    record_property("figures", f"IAM reference check ({REFERENCE.version()}): {total} [{detail}]")


# --- the check itself rejects what IAM would ------------------------------------------------------

def _problems(*statements) -> list[str]:
    return REFERENCE.check({"Version": "2012-10-17", "Statement": list(statements)})[0]


def _allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


BUCKET = "arn:aws:s3:::genai-research-artifacts"


def test_a_correct_policy_passes():
    """Bedrock and S3 pages of the Service Authorization Reference: these fit them."""
    assert _problems(
        _allow(["s3:GetObject"], f"{BUCKET}/*"),
        _allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": "datasets/*"}}),
        _allow("bedrock:InvokeModel", f"arn:aws:bedrock:*:{HUB}:application-inference-profile/*",
               Condition={"StringEquals": {"aws:ResourceTag/genai-hub:tenant-id": "acme"}}),
        _allow("bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/*",
               Condition={"ArnLike": {"bedrock:InferenceProfileArn": f"arn:aws:bedrock:*:{HUB}:application-inference-profile/*"}}),
        _allow("sqs:SendMessage*", f"arn:aws:sqs:us-east-1:{HUB}:undelivered"),
        _allow("xray:PutTraceSegments"),
    ) == []


def test_a_made_up_action_is_rejected():
    """Actions of a service are those of its "Actions defined by" table (Service Authorization Reference)."""
    assert _problems(_allow("bedrock:InvokeModelFast", "arn:aws:bedrock:*::foundation-model/*")) == [
        f"statement 0: bedrock:InvokeModelFast is not an action of Amazon Bedrock ({SAR}/reference.html)"]
    assert any("no service has the prefix bedrok" in p for p in _problems(_allow("bedrok:InvokeModel")))
    assert any("matches no action" in p for p in _problems(_allow("bedrock:Invok3*")))
    assert any("not of the form" in p for p in _problems(_allow("InvokeModel")))


def test_a_misspelled_condition_key_is_rejected():
    """Global keys are those of the IAM page; service keys those of the service's "Condition keys" table."""
    for key in ("aws:SourceAcount", "aws:PrincipalTags/team", "bedrock:InferenceProfileARNs"):
        problems = _problems(_allow("bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/*",
                                    Condition={"StringEquals": {key: "x"}}))
        assert any(f"condition key {key} is neither a global key" in p for p in problems), (key, problems)
    assert GLOBAL_KEYS_PAGE in problems[0]


def test_a_condition_key_the_action_does_not_support_is_rejected():
    """s3:prefix is in the "Condition keys" cell of s3:ListBucket, not of s3:GetObject: the condition
    would never hold for GetObject (unless the operator is ...IfExists)."""
    condition = {"StringLike": {"s3:prefix": "datasets/*"}}
    problems = _problems(_allow(["s3:GetObject", "s3:ListBucket"], [BUCKET, f"{BUCKET}/*"], Condition=condition))
    assert problems == ["statement 0: condition key s3:prefix is not available for s3:GetObject: the condition never "
                        f"holds for it ({SAR}/reference.html)"]
    assert _problems(_allow(["s3:GetObject", "s3:ListBucket"], [BUCKET, f"{BUCKET}/*"],
                            Condition={"StringLikeIfExists": {"s3:prefix": "datasets/*"}})) == []
    assert _problems({"Effect": "Deny", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [BUCKET, f"{BUCKET}/*"],
                      "Condition": {"StringNotLike": {"s3:prefix": "datasets/*"}}}) == []  # holds where the key is missing
    assert any("operator StringLikeIfExist does not exist" in p
               for p in _problems(_allow("s3:ListBucket", BUCKET, Condition={"StringLikeIfExist": {"s3:prefix": "x"}})))


def test_an_arn_of_the_wrong_resource_type_is_rejected():
    """A Resource fits the ARN format of a resource type its action supports ("Resource types defined by")."""
    objects = _problems(_allow("s3:ListBucket", f"{BUCKET}/*"))  # objects, where ListBucket acts on the bucket
    assert any(f"Resource {BUCKET}/* fits no resource type of s3:ListBucket" in p and "arn:${Partition}:s3:::${BucketName} "
               in p for p in objects), objects
    assert any("s3:ListBucket is granted on no resource it can act on" in p for p in objects)
    wrong_service = _problems(_allow("bedrock:InvokeModel", f"arn:aws:s3:::{HUB}-models/*"))
    assert any("fits no resource type of bedrock:InvokeModel" in p for p in wrong_service)
    wrong_type = _problems(_allow("bedrock:GetImportedModel", f"arn:aws:bedrock:us-east-1:{HUB}:model-import-job/*"))
    assert any("fits no resource type" in p for p in wrong_type)
    no_resource_types = _problems(_allow("bedrock:CreateModelImportJob", f"arn:aws:bedrock:us-east-1:{HUB}:model-import-job/*"))
    assert any('supports no resource-level permissions: its Resource must be "*"' in p for p in no_resource_types)
    assert any("is not an ARN" in p for p in _problems(_allow("s3:GetObject", "genai-research-artifacts/*")))


@pytest.mark.parametrize("arn, arn_format, fits", [
    (f"{BUCKET}/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
    (f"{BUCKET}/*", "arn:${Partition}:s3:::${BucketName}", False),
    ("arn:aws:s3:::*", "arn:${Partition}:s3:::${BucketName}", True),
    ("arn:aws:bedrock:*::foundation-model/*", "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}", True),
    ("arn:aws:bedrock:*::foundation-model/*", "arn:${Partition}:bedrock:${Region}:${Account}:inference-profile/${ResourceId}", False),
    (f"arn:aws:dynamodb:us-east-1:{HUB}:table/Registry/index/ByModel",
     "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}", True),
    (f"arn:aws:iam::{HUB}:role/service-role/genai-hub-import", "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", True),
    (f"arn:aws:sqs:us-east-1:{HUB}:undelivered", "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}", True),
    (f"arn:aws:sqs:us-east-1:{HUB}:undelivered", "arn:${Partition}:sns:${Region}:${Account}:${TopicName}", False),
    (f"arn:aws:states:us-east-1:{HUB}:stateMachine:genai-hub-?etirement", "arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}", True),
])
def test_arn_fit(arn, arn_format, fits):
    """ARN formats of the reference against policy ARNs with IAM's wildcards
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)."""
    assert arn_fits(arn, arn_format) is fits
