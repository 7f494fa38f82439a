"""STS: AssumeRole as AWS authorises and records it: trust policy, session tags, session policy.

moto's `STSBackend.assume_role` grants any role in any account, existing or not, whatever its trust
policy says ("the role does not need to exist"), and `STSResponse.assume_role` drops `Tags`. The
replacement follows the AssumeRole API reference
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html) and IAM's rules for
role trust (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
"Evaluating policies within a single account": a role's trust policy must allow the caller even in
its own account) and for session tags (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html):

- The role's trust policy is evaluated with hubsim.iam_policy for `sts:AssumeRole` on the role, for
  the caller as STS sees it (an assumed-role session: its role's ARN as principal; an IAM user; the
  account root for moto's default long-term keys), with the context keys `sts:ExternalId`,
  `sts:RoleSessionName`, `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:RequestTag/<key>` and
  `aws:TagKeys`. A call with Tags also needs `sts:TagSession` allowed by the trust policy.
  AccessDenied otherwise, as AWS answers; also for a role that does not exist when the call names an
  ExternalId or tags. A call without either to a role that does not exist keeps moto's account
  switch, which the engine uses to deploy spoke accounts.
- The caller's own policies must allow sts:AssumeRole on the role too (identity, session policy,
  permissions boundary: hubsim.principals resolves them), except where the trust policy names the
  caller itself in its own account; the account root's identity allows everything.
- Quotas: DurationSeconds 900 to the role's MaxSessionDuration (1 hour for role chaining, a session
  assuming a role), a session policy (`Policy`) of at most 2,048 characters, at most 50 session tags
  (keys 128, values 256 characters): ValidationError / PackedPolicyTooLarge as STS answers.
- The session remembers its tags, session policy and issue time (`session_of(access_key_id)`), so
  bedrock-runtime evaluates `aws:PrincipalTag/*`, the session policy and `aws:TokenIssueTime`.
- GetCallerIdentity answers for the principal every check evaluates (hubsim.principals), so its
  UserId is the aws:userid a policy compares: an account's root (moto's default keys, the engine's
  account switch) answers the account id and its root ARN, where moto answers a fake user
  "AKIAIOSFODNN7EXAMPLE" or the switch role's session.
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""
import json
from datetime import datetime, timezone
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.sts import models as sts_models
from moto.sts import responses as sts_responses
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends

from hubsim import iam_policy, principals
from hubsim.patches import Patch

PATCH = Patch(
    name="sts-trust-policy-session-tags",
    replaces="moto.sts.models.STSBackend.assume_role (grants any role, ignores the trust policy), "
             "moto.sts.responses.TokenResponse.assume_role (drops Tags, no quotas), "
             "moto.sts.responses.TokenResponse.get_caller_identity (a fake user for the root's keys)",
    covered_by=", ".join([
        "tests/seams/test_sts.py::test_assume_role_requires_external_id_of_trust_policy",
        "tests/test_tenant_access.py::test_assume_role_honours_trust_principal_tags_and_quotas",
        "tests/seams/test_s3_request_tags.py::test_caller_identity_is_the_userid_policies_compare",
    ]),
)

SESSION_POLICY_LIMIT = 2048
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256
CHAINED_MAX_SECONDS = 3600
ACCOUNT_ADMIN_ROLE = principals.ACCOUNT_ADMIN_ROLE
_originals: dict = {}


class AccessDenied(STSClientError):
    def __init__(self, message: str):
        super().__init__("AccessDenied", message)
        self.reason = message


class ValidationError(STSClientError):
    def __init__(self, message: str):
        super().__init__("ValidationError", message)


class PackedPolicyTooLarge(STSClientError):
    def __init__(self, message: str):
        super().__init__("PackedPolicyTooLarge", message)


def session_of(access_key_id: str):
    """moto's AssumedRole of an access key (any account), None for long-term keys."""
    return principals.session_of(access_key_id)


def _trust_context(caller: principals.Principal, external_id, session_name, tags: dict) -> dict:
    context = {"sts:RoleSessionName": session_name, **caller.context()}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
    if tags:
        context["aws:TagKeys"] = list(tags)
    return context


def trust_allows(trust, role_arn: str, caller: principals.Principal, external_id=None, session_name: str = "",
                 tags: dict | None = None) -> iam_policy.Decision:
    """Whether `caller` may assume the role (and tag the session, with tags): the role's trust policy
    must allow it, and the caller's own policies must allow sts:AssumeRole (sts:TagSession) on the
    role, unless the trust policy names the caller itself in the caller's own account
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html; cross-account:
    both, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
    The account root's identity allows everything in its account."""
    tags = tags or {}
    context = _trust_context(caller, external_id, session_name, tags)
    decision = None
    for action in ["sts:AssumeRole"] + (["sts:TagSession"] if tags else []):
        request = iam_policy.Request(action=action, resource=role_arn, principal_arn=caller.arn,
                                     principal_account=caller.account, resource_account=role_arn.split(":")[4],
                                     context=context, role_arn=caller.role_arn)
        decision = _trust_decides(trust, request, caller)
        if not decision.allowed:
            return decision
    return decision


def _trust_decides(trust: dict, request: iam_policy.Request, caller: principals.Principal | None = None) -> iam_policy.Decision:
    """A role's trust policy must allow (it is the role's resource policy, and a role is assumed only
    when it names the caller, its account or its service); the caller's identity, session policy and
    boundary are evaluated as for any request. A service (caller None) has no identity policies."""
    if caller is None:
        allow_all = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}]
        return iam_policy.evaluate(request, allow_all, resource_policy=trust, resource_policy_required=True)
    return iam_policy.evaluate(request, list(caller.identity_policies), list(caller.session_policies), trust,
                               caller.boundary, resource_policy_required=True)


def service_may_assume(trust: dict, service: str, role_arn: str, context: dict) -> bool:
    """Whether a role's trust policy lets `service` (states.amazonaws.com, bedrock.amazonaws.com...)
    assume it, with the request context the service sends (aws:SourceArn, aws:SourceAccount): the
    statements naming the service, evaluated as a resource policy."""
    statements = trust.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]

    def services(statement) -> list:
        named = (statement.get("Principal") or {}).get("Service", []) if isinstance(statement.get("Principal"), dict) else []
        return named if isinstance(named, list) else [named]

    named = [{**st, "Principal": "*"} for st in statements if service in services(st)]
    if not named:
        return False
    account = role_arn.split(":")[4]
    request = iam_policy.Request(action="sts:AssumeRole", resource=role_arn, principal_arn=f"arn:aws:iam::{account}:root",
                                 principal_account=account, resource_account="trust-policy", context=context)
    return _trust_decides({"Version": "2012-10-17", "Statement": named}, request).allowed


def assume_role_as_service(service: str, role_arn: str, session_name: str, region: str, context: dict) -> dict:
    """A service (bedrock.amazonaws.com importing a model) assumes a role: the trust policy must name
    the service, and its conditions (aws:SourceAccount, aws:SourceArn) hold for `context`. Returns
    the credentials, as the service would hold them."""
    account = role_arn.split(":")[4]
    role = principals.role_of(account, role_arn)
    denied = f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    if role is None:
        raise AccessDenied(denied)
    trust = role.assume_role_policy_document
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    if not service_may_assume(trust, service, role_arn, context):
        raise AccessDenied(denied)
    session = _originals["backend"](sts_backends[account]["aws"], region, session_name, role_arn, None, 3600, None)
    session.hubsim_tags, session.hubsim_policy = {}, None
    session.hubsim_issued = datetime.now(timezone.utc).replace(microsecond=0)
    return {"AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token}


def _tags_param(self) -> dict:
    tags = {}
    for index, tag in enumerate(self._get_param("Tags") or [], start=1):
        key, value = tag.get("Key", ""), tag.get("Value", "")
        if len(key) > MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            raise ValidationError(f"1 validation error detected: Value at 'tags.{index}' failed to satisfy constraint: "
                                  f"key at most {MAX_TAG_KEY} and value at most {MAX_TAG_VALUE} characters")
        if key.lower() in {k.lower() for k in tags}:
            raise ValidationError(f"Duplicate tag keys found. Please note that Tag keys are case insensitive: {key}")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise PackedPolicyTooLarge(f"Serialized session tags exceed the limit: {len(tags)} tags, at most {MAX_TAGS}")
    return tags


def response_assume_role(self):
    """STSResponse.assume_role with Tags, the trust check for the caller and STS's quotas."""
    role_arn, session_name = self._get_param("RoleArn"), self._get_param("RoleSessionName")
    policy, external_id = self._get_param("Policy"), self._get_param("ExternalId")
    duration = self._get_int_param("DurationSeconds", 3600)
    tags = _tags_param(self)
    if policy is not None and len(policy) > SESSION_POLICY_LIMIT:
        raise ValidationError("1 validation error detected: Value at 'policy' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {SESSION_POLICY_LIMIT}")
    if duration < 900:
        raise ValidationError("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: "
                              "Member must have value greater than or equal to 900")
    resolved = principals.resolve(self.get_access_key(), self.headers.get("X-Amz-Security-Token"), self.current_account)
    if resolved is None:
        raise STSClientError("InvalidClientTokenId", "The security token included in the request is invalid.")
    caller = resolved[0]
    target_account = role_arn.split(":")[4]
    role = principals.role_of(target_account, role_arn)
    denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    if role is None and (external_id or tags):
        raise AccessDenied(denied)
    if role is not None:
        trust = role.assume_role_policy_document
        trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
        decision = trust_allows(trust, role.arn, caller, external_id, session_name or "", tags)
        from hubsim.patches import authz

        authz.record(caller, decision)
        if not decision.allowed:
            raise AccessDenied(denied if decision.reason == "no resource-based policy allows" else decision.message())
        limit = CHAINED_MAX_SECONDS if caller.session is not None else int(role.max_session_duration or 3600)
        if duration > limit:
            raise ValidationError(f"The requested DurationSeconds exceeds the {'1 hour session limit for roles assumed by role chaining' if caller.session is not None else 'MaxSessionDuration set for this role'}.")
    result = _originals["response"](self)
    session = session_of(result.result["Credentials"].access_key_id) if hasattr(result, "result") else None
    if session is not None:
        session.hubsim_tags, session.hubsim_policy = tags, policy
        session.hubsim_issued = datetime.now(timezone.utc).replace(microsecond=0)
    return result


def response_get_caller_identity(self):
    """TokenResponse.get_caller_identity for the principal as hubsim.principals resolves it."""
    resolved = principals.resolve(self.get_access_key(), self.headers.get("X-Amz-Security-Token"), self.current_account)
    if resolved is not None and resolved[0].is_root:  # sessions and users: moto answers as they resolve
        root = resolved[0]
        return ActionResult({"UserId": root.user_id, "Account": root.account, "Arn": root.arn})
    return _originals["caller"](self)


def apply() -> None:
    if _originals:
        return
    _originals["response"] = sts_responses.TokenResponse.assume_role
    sts_responses.TokenResponse.assume_role = response_assume_role
    _originals["caller"] = sts_responses.TokenResponse.get_caller_identity
    sts_responses.TokenResponse.get_caller_identity = response_get_caller_identity
    sts_models.STSBackend.assume_role = _originals.setdefault("backend", sts_models.STSBackend.assume_role)
