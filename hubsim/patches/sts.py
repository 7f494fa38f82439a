"""STS: AssumeRole honours the target role's trust policy ExternalId and account conditions.

moto's `STSBackend.assume_role` grants any role in any account, existing or not, whatever its
trust policy says ("the role does not need to exist"). Cross-account onboarding depends on the
spoke role's trust (confused-deputy protection), so the replacement, for a role that exists,
requires a trust statement whose AWS principal is in the caller's account and whose
`sts:ExternalId` condition (StringEquals) matches; and refuses a call with an ExternalId to a role
that does not exist (AWS answers AccessDenied for both). A call without ExternalId to a role that
does not exist keeps moto's account switch, which the engine uses to deploy spoke accounts.
"""
import json
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts import models as sts_models
from moto.sts.exceptions import STSClientError

from hubsim.patches import Patch

PATCH = Patch(
    name="sts-trust-policy",
    replaces="moto.sts.models.STSBackend.assume_role (grants any role, ignores trust policy and ExternalId)",
    covered_by="tests/test_engine_seams.py::test_assume_role_requires_external_id_of_trust_policy",
)

_original = sts_models.STSBackend.assume_role


class AccessDenied(STSClientError):
    def __init__(self, message: str):
        super().__init__("AccessDenied", message)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def trust_allows(policy: dict, caller_account: str, external_id: str | None) -> bool:
    for statement in _as_list(policy.get("Statement", [])):
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(statement.get("Action", [])):
            continue
        principals = _as_list((statement.get("Principal") or {}).get("AWS", []))
        if not any(p == caller_account or f":{caller_account}:" in p for p in principals):
            continue
        required = (statement.get("Condition") or {}).get("StringEquals", {}).get("sts:ExternalId")
        if required is None or (external_id is not None and external_id in _as_list(required)):
            return True
    return False


def assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
    target_account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[target_account]["global"].roles.values() if r.name == role_name), None)
    if role is None and external_id:
        raise AccessDenied(f"User: arn:aws:sts::{self.account_id}:assumed-role is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    if role is not None:
        trust = json.loads(unquote(role.assume_role_policy_document)) if isinstance(role.assume_role_policy_document, str) else role.assume_role_policy_document
        if not trust_allows(trust, self.account_id, external_id):
            raise AccessDenied(f"User: account {self.account_id} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    return _original(self, region_name, role_session_name, role_arn, policy, duration, external_id)


def apply() -> None:
    sts_models.STSBackend.assume_role = assume_role
