"""IAM: a role is found by its name in constant time, not by reading every role of the account.

moto's `IAMBackend.get_role(name)` and `get_role_by_arn(arn)` scan all roles of the account, and
they run on nearly every request: moto's request handling records the "last used" time of the role
behind assumed-role credentials (`moto.iam.models.mark_account_as_visited`, called for every call
to every service), and each IAM call on a role (put_role_policy, tag_role, get_role...) looks it up
by name. A spoke account holds one invoke role per tenant, so onboarding N tenants into it cost
O(N) per request and O(N^2) overall: the curve the bench's onboarding scaling showed.

CloudFormation: moto's `Role.create_from_cloudformation_json` ignores `ManagedPolicyArns`, so a
role deployed from a template has none of its managed policies (the tenant access role's
TenantAccessPolicy, every SAM function's `Policies`), and an evaluation of its permissions would be
wrong. The replacement attaches each customer managed policy of the account as AWS::IAM::Role does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html);
AWS managed policies moto does not load (arn:aws:iam::aws:policy/...) are skipped.

The index maps a name to the role's id in `backend.roles` (moto's own store, keyed by id) and is
checked on every hit, so a role created, deleted or renamed behind it is never returned stale: a
miss rebuilds the index from `backend.roles`, which is what the original scan cost.
"""
from moto.iam.models import IAMBackend, NotFoundException, Role, iam_backends

from hubsim.patches import Patch

PATCH = Patch(
    name="iam-role-index",
    replaces="moto.iam.models.IAMBackend.get_role / get_role_by_arn (a scan of every role of the account per call), "
             "moto.iam.models.Role.create_from_cloudformation_json (ignores ManagedPolicyArns)",
    covered_by="tests/seams/test_iam.py::test_roles_are_found_by_name_and_arn_after_create_and_delete, "
               "tests/test_tenant_access.py::test_a_tenant_session_reaches_only_its_own_granted_profiles",
)

_originals: dict = {}


def _indexed(backend: IAMBackend, name: str):
    role = backend.roles.get(backend.__dict__.get("_hubsim_role_ids", {}).get(name))
    if role is not None and role.name == name:
        return role
    # A new index replaces the old one whole: a thread reading the old one meanwhile is not affected.
    index = {role.name: role_id for role_id, role in list(backend.roles.items())}
    backend.__dict__["_hubsim_role_ids"] = index
    return backend.roles.get(index.get(name))


def get_role(self: IAMBackend, role_name: str):
    role = _indexed(self, role_name)
    if role is None:
        raise NotFoundException(f"Role {role_name} not found")
    return role


def get_role_by_arn(self: IAMBackend, arn: str):
    # arn:<partition>:iam::<account>:role/<path/>name: the name is what follows the last slash.
    role = _indexed(self, arn.rsplit("/", 1)[-1]) if ":role/" in arn else None
    if role is not None and role.arn == arn:
        return role
    return _originals["get_role_by_arn"](self, arn)  # another path, or no such role: moto's answer


def create_role_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    role = _originals["create_role"](resource_name, cloudformation_json, account_id, region_name, **kwargs)
    backend = iam_backends[account_id]["global"]
    for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []) or []:
        if isinstance(arn, str) and ":iam::aws:policy/" not in arn:
            backend.attach_role_policy(arn, role.name)
    return role


def apply() -> None:
    if _originals:
        return
    _originals["create_role"] = Role.create_from_cloudformation_json
    Role.create_from_cloudformation_json = classmethod(create_role_from_cloudformation)
    _originals["get_role"], _originals["get_role_by_arn"] = IAMBackend.get_role, IAMBackend.get_role_by_arn
    IAMBackend.get_role, IAMBackend.get_role_by_arn = get_role, get_role_by_arn
