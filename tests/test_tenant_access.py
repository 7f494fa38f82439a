"""Tenant model access enforced in the hub account: the broker, the shared role, the cross-account rule."""
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import audit_records, registry_items, sample

from genai_hub import access
from hubsim.engine import tenant_app

ACME, GLOBEX = "222222222222", "777777777777"
NOVA = "amazon.nova-pro-v1:0"


def _converse(client, model_id: str, text: str = "hello") -> dict:
    return client.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}])


def _refusal(client, model_id: str) -> str:
    with pytest.raises(ClientError) as raised:
        _converse(client, model_id)
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    return error["Message"]


@pytest.fixture
def tenants(hub, onboard):
    """acme-retail (spoke 222222222222) and globex-support (spoke 777777777777), both ACTIVE."""
    for name in ("acme-retail-us.json", "globex-support-us.json"):
        assert [e["status"] for e in onboard(sample(f"onboarding/{name}"))][-1] == "SUCCEEDED"
    return {t: {k[len("PROFILE#"):]: v["profile_arn"] for k, v in registry_items(hub, t).items() if k.startswith("PROFILE#")}
            for t in ("acme-retail", "globex-support")}


def test_a_spoke_principal_allowed_everything_cannot_invoke_a_hub_profile(hub, tenants):
    # Given a role in acme-retail's own account whose identity policy allows every action on everything
    # (what the old design's invoke role relied on, and what a spoke administrator can always write)
    spoke = hub.account_session(ACME)
    spoke.client("iam").create_role(RoleName="everything", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACME}:root"}, "Action": "sts:AssumeRole"}]}))
    spoke.client("iam").put_role_policy(RoleName="everything", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    creds = spoke.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACME}:role/everything", RoleSessionName="admin")["Credentials"]
    runtime = boto3.client("bedrock-runtime", region_name=hub.region, aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])

    # When it calls the hub-owned application inference profile of its own tenant
    message = _refusal(runtime, tenants["acme-retail"][NOVA])

    # Then IAM's cross-account rule refuses it: Bedrock has no resource-based policy for profiles
    assert "because no resource-based policy allows the bedrock:InvokeModel action" in message
    # and it cannot assume the hub's tenant access role either (only the broker may, with tags)
    with pytest.raises(ClientError) as assumed:
        spoke.client("sts").assume_role(RoleArn=hub.outputs["TenantAccessRoleArn"], RoleSessionName="widen",
                                        Tags=[{"Key": "genai-hub:tenant-id", "Value": "globex-support"}])
    assert assumed.value.response["Error"]["Code"] == "AccessDenied"


def test_a_tenant_session_reaches_only_its_own_granted_profiles(hub, tenants, record_property):
    # Given acme-retail's application with the credentials the broker vends it
    session = hub.tenant_session("acme-retail", ACME)
    runtime = session.client("bedrock-runtime")
    identity = session.client("sts").get_caller_identity()

    # Then the session is one of the hub's role, named for the tenant and the account it called from
    assert identity["Account"] == hub.outputs["HubAccountId"]
    assert identity["Arn"].endswith(f":assumed-role/{hub.outputs['TenantAccessRoleArn'].rsplit('/', 1)[1]}/acme-retail@{ACME}")
    assert session.hub_models["profiles"] == tenants["acme-retail"]

    # When it calls its own profiles: answered
    for profile_arn in tenants["acme-retail"].values():
        assert _converse(runtime, profile_arn)["output"]["message"]["content"][0]["text"] == "Echo: hello"
    # When it calls another tenant's profile, a bare foundation model or a system-defined profile: refused
    assert "no identity-based policy allows" in _refusal(runtime, tenants["globex-support"]["amazon.nova-lite-v1:0"])
    assert f"foundation-model/{NOVA}" in _refusal(runtime, NOVA)
    _refusal(runtime, f"us.{NOVA}")
    # and an imported model it was not granted
    _refusal(runtime, f"arn:aws:bedrock:{hub.region}:{hub.outputs['HubAccountId']}:imported-model/abcdefgh1234")
    record_property("figures", f"tenant session: {len(tenants['acme-retail'])} own profiles answered, 4 other targets refused")


def test_the_broker_vends_only_to_the_tenants_own_principals_and_audits_both(hub, tenants):
    # Given globex-support's application (another account)
    globex_app = hub.tenant_app_session(GLOBEX)

    # When it asks for acme-retail's credentials
    with pytest.raises(tenant_app().AccessRefused) as refused:
        tenant_app().fetch_credentials(hub.outputs["TenantCredentialsUrl"], "acme-retail", globex_app, hub.endpoint())

    # Then the broker refuses, naming the rule, and audits the refusal with the verified caller
    assert (refused.value.status, refused.value.error) == (403, "AccessNotGranted")
    [record] = [r for r in audit_records(hub, "rejected#tenant-access")]
    assert record["actor"].startswith(f"arn:aws:sts::{GLOBEX}:assumed-role/genai-hub-tenant-app/")
    assert json.loads(record["detail"])["tenant_id"] == "acme-retail"
    # and a vend to the tenant's own application is in the tenant's audit stream, with who asked
    hub.tenant_session("globex-support", GLOBEX)
    vended = [r for r in audit_records(hub, "tenant#globex-support") if r["action"] == "VendCredentials"]
    assert vended[-1]["outcome"] == "SUCCEEDED" and vended[-1]["actor"].startswith(f"arn:aws:sts::{GLOBEX}:")
    assert "SecretAccessKey" not in vended[-1]["detail"] and "SessionToken" not in vended[-1]["detail"]


def test_an_unsigned_or_forged_broker_request_never_reaches_the_broker(hub, tenants):
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    # Given the broker's URL, called without a signature
    url = hub.outputs["TenantCredentialsUrl"].rstrip("/") + "/tenants/acme-retail/credentials"
    request = urllib.request.Request(hub.endpoint() + "/tenants/acme-retail/credentials", headers={"Host": urlsplit(url).netloc})
    # Then Lambda refuses it before the function runs (403), and nothing is audited
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert not [r for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "VendCredentials"]


def test_assume_role_honours_trust_principal_tags_and_quotas(hub):
    iam, sts = hub.client("iam"), hub.client("sts")
    account = hub.outputs["HubAccountId"]
    # Given a role trusted by another role of the account for sts:AssumeRole only (no sts:TagSession)
    iam.create_role(RoleName="seam-caller", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}))
    iam.create_role(RoleName="seam-target", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/seam-caller"}, "Action": "sts:AssumeRole"}]}))
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seam-caller", RoleSessionName="caller")["Credentials"]
    caller = boto3.client("sts", region_name=hub.region, aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    target = f"arn:aws:iam::{account}:role/seam-target"

    def code(client, **kwargs) -> str:
        try:
            client.assume_role(RoleArn=target, RoleSessionName="seam", **kwargs)
            return ""
        except ClientError as error:
            return error.response["Error"]["Code"]

    # Then the named role may assume it; the account root, not named, may not
    assert code(caller) == "" and code(sts) == "AccessDenied"
    # and tags need sts:TagSession; STS's quotas hold (duration, session policy size, chained sessions)
    assert code(caller, Tags=[{"Key": "k", "Value": "v"}]) == "AccessDenied"
    assert code(caller, DurationSeconds=7200) == "ValidationError"  # role chaining: one hour at most
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                             "Resource": f"arn:aws:s3:::bucket/{'x' * 2100}"}]})
    assert code(caller, Policy=big) == "ValidationError"


# --- the access logic without AWS ---------------------------------------------------------------------

def test_revocations_group_by_time_and_collapse_before_the_inline_quota():
    # Given revocations of a few tenants at two moments
    entries = [{"tenant_id": t, "revoked_before": "2026-12-05T10:00:00Z"} for t in ("a-one", "b-two")]
    entries.append({"tenant_id": "c-three", "revoked_before": "2026-12-05T10:05:00Z"})
    # Then each moment is one Deny of the tenants' sessions issued before it
    document = access.revocation_policy(entries)
    assert [s["Condition"] for s in document["Statement"]] == [
        {"StringEquals": {"aws:PrincipalTag/genai-hub:tenant-id": ["a-one", "b-two"]}, "DateLessThan": {"aws:TokenIssueTime": "2026-12-05T10:00:00Z"}},
        {"StringEquals": {"aws:PrincipalTag/genai-hub:tenant-id": ["c-three"]}, "DateLessThan": {"aws:TokenIssueTime": "2026-12-05T10:05:00Z"}},
    ]
    # When 2,000 tenants are revoked within one session's life (more than IAM's 10,240 characters hold)
    many = [{"tenant_id": f"tenant-{n:05d}", "revoked_before": f"2026-12-05T10:{n % 60:02d}:00Z"} for n in range(2000)]
    collapsed = access.revocation_policy(many)
    # Then one statement denies every tenant's sessions issued before the newest: never over the quota
    assert collapsed["Statement"] == [{"Sid": "RevokedEveryone", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                                       "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-12-05T10:59:00Z"}}}]
    assert len(json.dumps(collapsed, separators=(",", ":"))) <= access.INLINE_POLICY_LIMIT
    assert access.revocation_policy([]) is None


def test_session_policies_name_imported_models_within_the_sts_quota():
    arns = [f"arn:aws:bedrock:us-east-1:123456789012:imported-model/{n:012d}" for n in range(40)]
    guardrail = {"name": "standard", "guardrailIdentifier": "arn:aws:bedrock:us-east-1:123456789012:guardrail/abcdef123456",
                 "guardrailVersion": "12"}
    # A tenant with a few imported models: they are named, profiles are left to the role's tag conditions,
    # and every call is held to the tenant's guardrail
    policy = access.session_policy("123456789012", arns[:5], "aws", guardrail)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["GrantedImportedModels"]["Resource"] == sorted(arns[:5])
    assert statements["OnlyWithOwnGuardrail"]["Condition"] == {"StringNotEquals": {
        "bedrock:GuardrailIdentifier": "arn:aws:bedrock:us-east-1:123456789012:guardrail/abcdef123456:12"}}
    assert len(json.dumps(policy, separators=(",", ":"))) <= access.SESSION_POLICY_LIMIT
    # 15 fit with the guardrail's statements (docs/limits.md); more: a named error that says what to do
    access.session_policy("123456789012", arns[:15], "aws", guardrail)
    with pytest.raises(access.SessionPolicyTooLarge, match="16 imported models"):
        access.session_policy("123456789012", arns[:16], "aws", guardrail)


def test_a_malformed_credentials_request_is_a_clear_400(hub, tenants):
    # Given acme-retail's application asking with a tenant id that cannot be one
    with pytest.raises(tenant_app().AccessRefused) as refused:
        tenant_app().fetch_credentials(hub.outputs["TenantCredentialsUrl"], "Not_A_Tenant", hub.tenant_app_session(ACME), hub.endpoint())
    # Then the broker says what it expected, and vends nothing
    assert (refused.value.status, refused.value.error) == (400, "BadRequest")
    assert "GET /tenants/<tenant_id>/credentials" in refused.value.message
