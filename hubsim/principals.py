"""Who signed a request, as AWS verifies it, with everything IAM evaluates for that principal.

One resolver for every check of the emulation (hubsim.patches.authz for every service call,
bedrock-runtime, function URLs, STS trust): an access key and its session token become a
`Principal`: the ARN AWS reports (an assumed-role session, an IAM user, the account root), the
identity policies of its role or user (inline and managed, a user's groups' too), the session
policy, the permissions boundary, and the principal tags (a session's tags over its role's).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

# moto's own fake keys (mock_aws), the dummy keys the README and tests give the CLI, and the key of
# moto's Step Functions interpreter: long-term keys of an account's root.
DEFAULT_CREDENTIALS = {"FOOBARKEY": "FOOBARSECRET", "testing": "testing", "test": "test"}
# hubsim.engine.LocalHub.account_session assumes this (non-existent) role: moto's account switch, the
# engine acting as an account's administrator (its root) to deploy that account's templates.
ACCOUNT_ADMIN_ROLE = "hubsim-account-admin"


@dataclass(frozen=True)
class Principal:
    """The verified signer of a request."""
    access_key: str
    account: str
    arn: str  # userArn: an IAM user, the account root, or an assumed-role session
    user_id: str  # AIDA... for a user, AROA...:session for a session, the account id for root
    role_arn: str | None = None
    identity_policies: tuple = ()
    session_policies: tuple = ()
    boundary: object = None
    tags: tuple = ()  # (key, value) of aws:PrincipalTag
    issued: datetime | None = None  # aws:TokenIssueTime of a session
    session: object = None  # moto's AssumedRole of a session
    policy_names: tuple = ()  # the name of each identity policy, in their order (the least-privilege report)

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")

    def context(self) -> dict:
        """The request-context keys AWS derives from the principal (beyond iam_policy's own)."""
        ctx = {"aws:userid": self.user_id, **{f"aws:PrincipalTag/{k}": v for k, v in self.tags}}
        if self.issued is not None:
            ctx["aws:TokenIssueTime"] = self.issued.strftime("%Y-%m-%dT%H:%M:%SZ")
        return ctx


def document(policy) -> str:
    """The default version's document of a moto managed policy."""
    return next(v.document for v in policy.versions if v.is_default)


def _boundary(iam, entity):
    arn = getattr(entity, "permissions_boundary_arn", None) or getattr(entity, "permissions_boundary", None)
    found = iam.managed_policies.get(arn) if isinstance(arn, str) else None
    return document(found) if found is not None else None


def root(account: str, access_key: str = "") -> Principal:
    return Principal(access_key, account, f"arn:aws:iam::{account}:root", account)


def _tags(entity) -> dict:
    tags = getattr(entity, "tags", None) or {}
    return {t["Key"]: t["Value"] for t in (tags.values() if isinstance(tags, dict) else tags)}


def role_of(account: str, role_arn: str):
    """moto's role behind `role_arn` (by ARN, else by name: moto's session ARNs carry no path), or
    by its name alone."""
    roles = iam_backends[account]["global"].roles.values()
    name = role_arn.rsplit("/", 1)[-1]
    return next((r for r in roles if r.arn == role_arn), None) or next((r for r in roles if r.name == name), None)


def of_session(session, access_key: str = "") -> Principal:
    """The principal of moto's AssumedRole: its role's policies, boundary and tags, the session's
    own tags, policy and issue time (set by hubsim.patches.sts)."""
    account = session.account_id
    if session.role_arn.endswith(f"/{ACCOUNT_ADMIN_ROLE}"):
        return root(account, access_key)
    iam = iam_backends[account]["global"]
    role = role_of(account, session.role_arn)
    policies, names, tags, boundary = (), (), {}, None
    if role is not None:  # a role deleted since the session began: nothing allows
        policies = (*role.policies.values(), *map(document, role.managed_policies.values()))
        names = (*role.policies, *(p.name for p in role.managed_policies.values()))
        tags, boundary = _tags(role), _boundary(iam, role)
    tags.update(getattr(session, "hubsim_tags", None) or {})  # session tags win over the role's
    session_policy = getattr(session, "hubsim_policy", None) or session.policy
    return Principal(access_key, account, session.arn, session.user_id, role.arn if role is not None else session.role_arn,
                     policies, (session_policy,) if session_policy else (), boundary, tuple(tags.items()),
                     getattr(session, "hubsim_issued", None), session, names)


def session_of(access_key: str):
    """moto's AssumedRole of an access key (any account), None for long-term keys."""
    account = get_account_id_from(access_key)
    found = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if found is not None:
        return found
    for backends in list(sts_backends.values()):
        for backend in list(backends.values()):
            for session in list(backend.assumed_roles):
                if session.access_key_id == access_key:
                    return session
    return None


def resolve(access_key: str, token: str | None, account: str | None = None) -> tuple[Principal, str] | None:
    """(the principal, its secret key) of an access key, or None when AWS would refuse the signature:
    an unknown or inactive IAM key, a session token that is missing, wrong or given with a long-term
    key, an expired session. A key moto does not know (its defaults, the interpreter's "ak") is the
    root of `account` (moto's current account), as moto itself treats it."""
    if access_key in DEFAULT_CREDENTIALS:
        return (None if token else (root(account or DEFAULT_ACCOUNT_ID, access_key), DEFAULT_CREDENTIALS[access_key]))
    session = session_of(access_key)
    if session is not None:
        if token != session.session_token or session.expiration < utcnow():
            return None
        return of_session(session, access_key), session.secret_access_key
    key_account = get_account_id_from(access_key)
    iam = iam_backends[key_account]["global"]
    key = iam.access_keys.get(access_key)
    if key is not None:
        if key.status != "Active" or token or not key.user_name:
            return None
        user = iam.get_user(key.user_name)
        policies = [*user.policies.values(), *map(document, user.managed_policies.values())]
        for group in iam.get_groups_for_user(user.name):
            policies += [*group.policies.values(), *map(document, group.managed_policies.values())]
        tags = tuple((t["Key"], t["Value"]) for t in iam.list_user_tags(user.name))
        return (Principal(access_key, key_account, user.arn, user.id, None, tuple(policies), (), _boundary(iam, user), tags),
                key.secret_access_key)
    if token:
        return None
    return root(account or key_account, access_key), ""
