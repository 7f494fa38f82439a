"""Does the research account grant the hub's import role what Bedrock needs? Read the policies.

Bedrock reads a cross-account drop with the hub's import role: the research bucket policy must
allow it s3:GetObject on the objects and s3:ListBucket on the bucket, and the key policy must
allow it kms:Decrypt; no unconditional Deny may take that away. Checking this before the import
job turns a failure deep inside Bedrock ("access denied" an hour later) into a message naming the
statement that is missing. Pure functions over the policy documents.
"""
import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    where: str  # "bucket policy" | "key policy"
    action: str
    resource: str

    def missing(self, role_arn: str) -> str:
        return f"{self.where} has no statement allowing {role_arn} {self.action} on {self.resource}"


def _list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(statement: dict, role_arn: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    account = role_arn.split(":")[4]
    for value in _list(principal.get("AWS")):
        if value in ("*", role_arn, account, f"arn:aws:iam::{account}:root"):
            return True
    return False


def _matches(patterns, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in _list(patterns))


def _action_matches(statement: dict, action: str) -> bool:
    service = action.split(":")[0]
    return _matches(statement.get("Action"), action) or _matches(statement.get("Action"), f"{service}:*")


def _resource_matches(statement: dict, resource: str) -> bool:
    return "Resource" not in statement or _matches(statement.get("Resource"), resource)


def _allows(statement: dict, need: Need, role_arn: str) -> bool:
    return (statement.get("Effect") == "Allow" and _principal_matches(statement, role_arn)
            and _action_matches(statement, need.action) and _resource_matches(statement, need.resource))


def _denies(statement: dict, need: Need, role_arn: str) -> bool:
    # A conditional Deny (e.g. aws:SecureTransport false) does not apply to Bedrock's TLS reads.
    return (statement.get("Effect") == "Deny" and not statement.get("Condition") and _principal_matches(statement, role_arn)
            and _action_matches(statement, need.action) and _resource_matches(statement, need.resource))


def problems(bucket_policy: dict | None, key_policy: dict | None, *, role_arn: str, bucket: str, key_arn: str | None) -> list[str]:
    """Every grant that is missing or denied, as sentences a research admin can act on (empty: all good)."""
    needs = [
        (bucket_policy, Need("bucket policy", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")),
        (bucket_policy, Need("bucket policy", "s3:ListBucket", f"arn:aws:s3:::{bucket}")),
    ]
    if key_arn:
        needs.append((key_policy, Need("key policy", "kms:Decrypt", key_arn)))
    found = []
    for policy, need in needs:
        statements = _list((policy or {}).get("Statement"))
        denial = next((s for s in statements if _denies(s, need, role_arn)), None)
        if denial is not None:
            found.append(f"{need.where} statement {denial.get('Sid', '(no Sid)')} denies {role_arn} {need.action} on {need.resource}")
        elif not any(_allows(s, need, role_arn) for s in statements):
            found.append(need.missing(role_arn))
    return found
