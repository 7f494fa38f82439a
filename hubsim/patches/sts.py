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
- The caller's own identity policy allowing sts:AssumeRole is not evaluated yet (every other call
  of the emulation is unchecked too; docs/emulator.md lists it).
- Quotas: DurationSeconds 900 to the role's MaxSessionDuration (1 hour for role chaining, a session
  assuming a role), a session policy (`Policy`) of at most 2,048 characters, at most 50 session tags
  (keys 128, values 256 characters): ValidationError / PackedPolicyTooLarge as STS answers.
- The session remembers its tags, session policy and issue time (`session_of(access_key_id)`), so
  bedrock-runtime evaluates `aws:PrincipalTag/*`, the session policy and `aws:TokenIssueTime`.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts import models as sts_models
from moto.sts import responses as sts_responses
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends

from hubsim import iam_policy
from hubsim.patches import Patch

PATCH = Patch(
    name="sts-trust-policy-session-tags",
    replaces="moto.sts.models.STSBackend.assume_role (grants any role, ignores the trust policy), "
             "moto.sts.responses.TokenResponse.assume_role (drops Tags, no quotas)",
    covered_by=", ".join([
        "tests/test_engine_seams.py::test_assume_role_requires_external_id_of_trust_policy",
        "tests/test_tenant_access.py::test_assume_role_honours_trust_principal_tags_and_quotas",
    ]),
)

SESSION_POLICY_LIMIT = 2048
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256
CHAINED_MAX_SECONDS = 3600
# hubsim.engine.LocalHub.account_session: moto's account switch to a role that does not exist, the
# engine acting as an account's administrator (its root) to deploy that account's templates.
ACCOUNT_ADMIN_ROLE = "hubsim-account-admin"
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


@dataclass(frozen=True)
class Caller:
    """Who signed a request, as AWS verifies it."""
    arn: str
    account: str
    role_arn: str | None = None  # for an assumed-role session
    session: object | None = None  # moto's AssumedRole, with hubsim_tags / hubsim_policy / hubsim_issued

    @property
    def user_id(self) -> str:
        return self.session.user_id if self.session is not None else self.account


def session_of(access_key_id: str):
    """moto's AssumedRole of an access key (any account), None for long-term keys."""
    for backends in list(sts_backends.values()):
        for backend in list(backends.values()):
            for session in list(backend.assumed_roles):
                if session.access_key_id == access_key_id:
                    return session
    return None


def caller_of(access_key_id: str, account: str) -> Caller:
    """The caller behind an access key: a role session, an IAM user, or (moto's default keys) root."""
    session = session_of(access_key_id)
    if session is not None and session.role_arn.endswith(f"/{ACCOUNT_ADMIN_ROLE}"):
        return Caller(f"arn:aws:iam::{session.account_id}:root", session.account_id)
    if session is not None:
        role_name = session.role_arn.split("/")[-1]
        role = next((r for r in iam_backends[session.account_id]["global"].roles.values() if r.name == role_name), None)
        role_arn = role.arn if role is not None else session.role_arn
        return Caller(session.arn, session.account_id, role_arn, session)
    for user in iam_backends[account]["global"].users.values():
        if any(key.access_key_id == access_key_id for key in user.access_keys):
            return Caller(user.arn, account)
    return Caller(f"arn:aws:iam::{account}:root", account)


def session_tags(session) -> dict:
    return dict(getattr(session, "hubsim_tags", {}) or {})


def session_policy(session) -> str | None:
    return getattr(session, "hubsim_policy", None)


def token_issue_time(session) -> datetime | None:
    return getattr(session, "hubsim_issued", None)


def _trust_context(caller: Caller, external_id, session_name, tags: dict) -> dict:
    context = {"aws:PrincipalAccount": caller.account, "aws:PrincipalArn": caller.role_arn or caller.arn,
               "sts:RoleSessionName": session_name}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
    if tags:
        context["aws:TagKeys"] = list(tags)
    return context


def trust_allows(trust, role_arn: str, caller: Caller, external_id=None, session_name: str = "", tags: dict | None = None) -> bool:
    """Whether the role's trust policy lets `caller` assume it (and tag the session, with tags)."""
    tags = tags or {}
    context = _trust_context(caller, external_id, session_name, tags)
    for action in ["sts:AssumeRole"] + (["sts:TagSession"] if tags else []):
        request = iam_policy.Request(action=action, resource=role_arn, principal_arn=caller.arn,
                                     principal_account=caller.account, resource_account="trust-policy",
                                     context=context, role_arn=caller.role_arn)
        if not _trust_decides(trust, request):
            return False
    return True


def _trust_decides(trust: dict, request: iam_policy.Request) -> bool:
    """A role's trust policy decides alone: a role is assumed only when it names the caller (or its
    account, or its service), whatever the caller's own policies say, the root user included. The
    caller's identity policy allowing sts:AssumeRole is not evaluated yet (docs/emulator.md), so it is
    taken as allowing, and the evaluation is the cross-account one (both sides needed; identity given)."""
    allow_all = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}]
    return iam_policy.evaluate(request, allow_all, resource_policy=trust).allowed


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
    return _trust_decides({"Version": "2012-10-17", "Statement": named}, request)


def assume_role_as_service(service: str, role_arn: str, session_name: str, region: str, context: dict) -> dict:
    """A service (bedrock.amazonaws.com importing a model) assumes a role: the trust policy must name
    the service, and its conditions (aws:SourceAccount, aws:SourceArn) hold for `context`. Returns
    the credentials, as the service would hold them."""
    account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[account]["global"].roles.values() if r.name == role_name), None)
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
    caller = caller_of(self.get_access_key(), self.current_account)
    target_account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[target_account]["global"].roles.values() if r.name == role_name), None)
    denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    if role is None and (external_id or tags):
        raise AccessDenied(denied)
    if role is not None:
        trust = role.assume_role_policy_document
        trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
        if not trust_allows(trust, role.arn, caller, external_id, session_name or "", tags):
            raise AccessDenied(denied)
        limit = CHAINED_MAX_SECONDS if caller.session is not None else int(role.max_session_duration or 3600)
        if duration > limit:
            raise ValidationError(f"The requested DurationSeconds exceeds the {'1 hour session limit for roles assumed by role chaining' if caller.session is not None else 'MaxSessionDuration set for this role'}.")
    result = _originals["response"](self)
    session = session_of(result.result["Credentials"].access_key_id) if hasattr(result, "result") else None
    if session is not None:
        session.hubsim_tags, session.hubsim_policy = tags, policy
        session.hubsim_issued = datetime.now(timezone.utc).replace(microsecond=0)
    return result


def apply() -> None:
    if _originals:
        return
    _originals["response"] = sts_responses.TokenResponse.assume_role
    sts_responses.TokenResponse.assume_role = response_assume_role
    sts_models.STSBackend.assume_role = _originals.setdefault("backend", sts_models.STSBackend.assume_role)
