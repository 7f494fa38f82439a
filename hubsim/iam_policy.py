"""An evaluator of AWS IAM policies, following AWS's documented policy evaluation logic.

Pure Python (no moto, no network): `evaluate(request, identity_policies, session_policies,
resource_policy, permissions_boundary)` returns a `Decision` whose `message()` reads like AWS's
AccessDenied text. The rules, and the AWS pages they come from:

- Policy evaluation logic (explicit deny first; same account: identity OR resource policy, then the
  permissions boundary and session policies; the root user has full access):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- Cross-account policy evaluation logic (identity policy AND resource policy must both allow):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- Principal element (an account principal "delegates authority to the account"; no partial wildcards):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- Resource element (wildcards stay inside an ARN segment unless a * ends the segment):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- Condition operators (absent key: positive operators false, negated true; ...IfExists; Null):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- Several keys or values (operators and keys AND-ed, values OR-ed, NOR for negated operators):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
- Set operators ForAnyValue / ForAllValues:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- Variables and tags (${key}, ${*} ${?} ${$}, defaults, variables with no value, Version 2012-10-17):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- Session policies (the session's permissions are the intersection with the identity policies):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Not modelled: SCPs, RCPs, VPC endpoint policies, ACLs, BinaryEquals beyond string equality, and the
exemption a resource policy naming a user or session ARN directly gets from an implicit deny in a
session policy or permissions boundary (here those always apply, a stricter simplification).
"""
from __future__ import annotations

import functools
import ipaddress
import json
import operator
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone

ALLOWED = "allowed"
_VARIABLES_VERSION = "2012-10-17"  # older (or absent) Version: ${...} is literal text, as AWS documents


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    principal_arn: str
    principal_account: str
    resource_account: str | None = None
    context: dict = field(default_factory=dict)
    role_arn: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    principal_arn: str = ""
    action: str = ""
    resource: str = ""
    # The Allow statements that applied: ("identity", policy index, statement index) or ("resource", 0, i).
    granted_by: tuple = field(default=(), compare=False)

    def message(self) -> str:
        """AWS's AccessDenied wording, e.g. "User: X is not authorized to perform: A on resource: R
        because no identity-based policy allows the A action"."""
        head = f"User: {self.principal_arn}"
        tail = f"perform: {self.action} on resource: {self.resource}"
        if self.allowed:
            return f"{head} is authorized to {tail}"
        if self.reason.startswith("explicit deny"):
            return f"{head} is not authorized to {tail} with an {self.reason}"
        return f"{head} is not authorized to {tail} because {self.reason} the {self.action} action"


# --- matching ----------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([^}]*)\}")
_VAR_BODY = re.compile(r"\s*(.*?)\s*(?:,\s*'(.*)')?\s*", re.S)


def _resolve(body: str, ctx: dict) -> str | None:
    """One ${...}: the special characters, a single-valued context key, or the default value.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    A multivalued key can't be a variable, and an absent one has no value (None) unless defaulted."""
    key, default = _VAR_BODY.fullmatch(body).groups()
    if key in ("*", "?", "$"):
        return key
    values = ctx.get(key.lower())
    return values[0] if values and len(values) == 1 else default


def _regex(pattern: str, ctx: dict | None = None, *, wild: bool = True, arn: bool = False,
           expand: bool = True, ignorecase: bool = False) -> re.Pattern | None:
    """_build_regex, compiled once per pattern when it has no policy variable (every evaluation of
    every call matches the same policies' patterns again)."""
    if ctx is None or "${" not in pattern:
        return _constant_regex(pattern, wild, arn, expand, ignorecase)
    return _build_regex(pattern, ctx, wild=wild, arn=arn, expand=expand, ignorecase=ignorecase)


@functools.lru_cache(maxsize=16384)
def _constant_regex(pattern: str, wild: bool, arn: bool, expand: bool, ignorecase: bool) -> re.Pattern | None:
    return _build_regex(pattern, None, wild=wild, arn=arn, expand=expand, ignorecase=ignorecase)


def _build_regex(pattern: str, ctx: dict | None = None, *, wild: bool = True, arn: bool = False,
                 expand: bool = True, ignorecase: bool = False) -> re.Pattern | None:
    """The pattern as a regex, or None when a policy variable in it has no value. `ctx` None: no
    variables. Substituted values are literal (so ${*} is a literal *). With `arn`, * and ? stay in
    one of the first five colon-separated segments, except a * ending the pattern or (with `expand`,
    the Resource element's rule) ending a segment, which "can expand to match beyond the colon
    boundaries" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    chars: list[tuple[str, bool]] = []  # (character, may be a wildcard)
    pos = 0
    for var in (_VAR.finditer(pattern) if ctx is not None else ()):
        chars += [(c, wild) for c in pattern[pos:var.start()]]
        value = _resolve(var.group(1), ctx)
        if value is None:
            return None
        chars += [(c, False) for c in value]
        pos = var.end()
    chars += [(c, wild) for c in pattern[pos:]]
    out, colons = [], 0
    for i, (c, special) in enumerate(chars):
        inside = arn and colons < 5
        nxt = chars[i + 1][0] if i + 1 < len(chars) else None
        if special and c == "*":
            out.append("[^:]*" if inside and nxt is not None and not (expand and nxt == ":") else ".*")
        elif special and c == "?":
            out.append("[^:]" if inside else ".")
        else:
            out.append(re.escape(c))
        colons += c == ":"
    return re.compile("".join(out), re.S | (re.I if ignorecase else 0))


def matches(pattern: str, value: str) -> bool:
    """IAM glob for ARNs: * and ? wildcards, case-sensitive, with the Resource element's segment rule.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"""
    return bool(_regex(str(pattern), arn=True).fullmatch(str(value)))


def _strs(value) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return ["true" if v is True else "false" if v is False else str(v) for v in items if v is not None]


def _date(text: str) -> datetime | None:
    """ISO 8601 or epoch seconds, as UTC (condition operators page, Date condition operators)."""
    try:
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ip(value: str, policy: str, _ctx=None) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in ipaddress.ip_network(policy.strip(), strict=False)
    except ValueError:
        return False


def _rx(**options):
    """A string or ARN comparison, the policy value a pattern with variables (the only operators
    that take variables, as the variables page says). A variable with no value matches nothing."""
    def compare(value: str, policy: str, variables: dict | None) -> bool:
        regex = _regex(policy, variables, **options)
        return bool(regex and regex.fullmatch(value))
    return compare


def _ordered(parse, relation):
    """A numeric or date comparison; a side that does not parse never matches."""
    def compare(value: str, policy: str, _ctx=None) -> bool:
        a, b = parse(value), parse(policy)
        return a is not None and b is not None and relation(a, b)
    return compare


# Positive operators: compare(request value, policy value, context) -> bool. ArnEquals and ArnLike
# are alike: both take wildcards, segment by segment (condition operators page, ARN operators).
_POSITIVE = {
    "StringEquals": _rx(wild=False), "StringEqualsIgnoreCase": _rx(wild=False, ignorecase=True),
    "StringLike": _rx(), "ArnEquals": _rx(arn=True, expand=False), "ArnLike": _rx(arn=True, expand=False),
    "Bool": lambda v, p, _: v.lower() == p.lower(), "BinaryEquals": lambda v, p, _: v == p, "IpAddress": _ip,
    **{kind + name: _ordered(parse, relation) for kind, parse in (("Numeric", _num), ("Date", _date))
       for name, relation in (("Equals", operator.eq), ("LessThan", operator.lt), ("LessThanEquals", operator.le),
                              ("GreaterThan", operator.gt), ("GreaterThanEquals", operator.ge))},
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals", "NotIpAddress": "IpAddress"}


def _condition_holds(name: str, key: str, policy_values, ctx: dict, variables: dict | None) -> bool | None:
    """One operator/key pair; None for an unknown operator.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html"""
    qualifier, _, base = name.rpartition(":")
    request_values = ctx.get(str(key).lower()) or []  # an empty list is no value, as for Null
    wanted = _strs(policy_values)
    if base == "Null" and not qualifier:  # Null checks presence only and takes no IfExists
        return any((v.lower() == "true") == (not request_values) for v in wanted)
    if_exists = base.endswith("IfExists")
    base = base[: -len("IfExists")] if if_exists else base
    negated = base in _NEGATED
    compare = _POSITIVE.get(_NEGATED.get(base, base))
    if compare is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    if not request_values:
        # IfExists: absent is true. ForAllValues: true with no values; ForAnyValue: false.
        # Otherwise a negated operator is true and a positive one false.
        return if_exists or qualifier == "ForAllValues" or (negated and not qualifier)

    def one(value: str) -> bool:  # the policy's values OR-ed; for a negated operator their NOR
        return any(compare(value, p, variables) for p in wanted) != negated
    # ForAllValues: every request value; ForAnyValue: one. Unqualified (a single value, normally):
    # a positive operator needs one value to match, a negated one that none does.
    every = qualifier == "ForAllValues" or (negated and not qualifier)
    return (all if every else any)(one(v) for v in request_values)


def _conditions_hold(block, ctx: dict, variables: dict | None) -> bool:
    """Operators AND-ed, keys of one operator AND-ed; an unknown operator or a malformed block makes
    the statement not match."""
    if block is None:
        return True
    if not isinstance(block, dict):
        return False
    for name, pairs in block.items():
        if not isinstance(pairs, dict):
            return False
        for key, values in pairs.items():
            if not _condition_holds(str(name), key, values, ctx, variables):
                return False
    return True


# --- statements and policies -------------------------------------------------------------------

def _role_arn(request: Request) -> str | None:
    """The role of an assumed-role session: `role_arn`, else read from the session ARN (no path)."""
    found = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", request.principal_arn)
    return request.role_arn or (found and f"arn:{found[1]}:iam::{found[2]}:role/{found[3]}") or None


def _principal_match(element, request: Request) -> str | None:
    """"direct", "account" (the account is named: it delegates to the identity policies), or None.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    Only the AWS key names IAM principals; no partial wildcards; a role ARN names its sessions."""
    if element == "*":
        return "direct"
    if not isinstance(element, dict):
        return None
    best = None
    for name in _strs(element.get("AWS", [])):
        if name == "*" or name in (request.principal_arn, _role_arn(request)):
            return "direct"
        account = re.fullmatch(r"(\d{12})|arn:[\w-]+:iam::(\d{12}):root", name)
        if account and request.principal_account in account.groups():
            best = "account"
    if best and request.principal_arn.endswith(f":{request.principal_account}:root"):
        return "direct"  # the account's root user is the account itself
    return best


def _statement(stmt, request: Request, ctx: dict, variables: dict | None, resource_based: bool) -> str | None:
    """How a statement applies to the request: None (does not), "direct" or "account". `variables`:
    the context when the policy's Version substitutes ${...}, else None (literal text)."""
    if not isinstance(stmt, dict):
        return None
    applies = "direct"
    if resource_based:
        if "Principal" in stmt:
            applies = _principal_match(stmt["Principal"], request)
        elif "NotPrincipal" in stmt:
            applies = None if _principal_match(stmt["NotPrincipal"], request) else "direct"
        else:
            applies = None  # a resource policy statement must name its principals
    if applies is None:
        return None
    key = "Action" if "Action" in stmt else "NotAction" if "NotAction" in stmt else None
    if key is None:
        return None
    hit = any(_regex(a, ignorecase=True).fullmatch(request.action) for a in _strs(stmt[key]))
    if hit != (key == "Action"):
        return None
    key = "Resource" if "Resource" in stmt else "NotResource" if "NotResource" in stmt else None
    if key is None:  # a resource policy without Resource (a role trust policy) covers its own resource
        return applies if resource_based and _conditions_hold(stmt.get("Condition"), ctx, variables) else None
    patterns = [_regex(r, variables, arn=True) for r in _strs(stmt[key])]  # None: a variable with no value
    hit = any(p is not None and p.fullmatch(request.resource) for p in patterns)
    if hit != (key == "Resource"):
        return None
    return applies if _conditions_hold(stmt.get("Condition"), ctx, variables) else None


def _load(policy) -> dict | None:
    """A policy document from a dict or JSON text (URL-encoded, as moto stores it, when it does not
    start with '{'). Raises ValueError only for text that is not JSON."""
    if policy is None or isinstance(policy, dict):
        return policy
    text = (policy.decode() if isinstance(policy, bytes) else str(policy)).strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text)
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"not a JSON policy document: {exc}") from None
    return document if isinstance(document, dict) else None


def _outcomes(policies, request: Request, ctx: dict, resource_based: bool = False) -> tuple[bool, bool, str | None, list]:
    """(any document given, any statement denies, how the strongest Allow applies: "direct",
    "account" or None, [(policy index, statement index)] of the Allow statements that apply)."""
    if policies is None or isinstance(policies, (dict, str, bytes)):
        policies = [policies]
    present, denied, allowed, granting = False, False, None, []
    for index, document in enumerate(map(_load, policies)):
        if document is None:
            continue
        present = True
        variables = ctx if document.get("Version") == _VARIABLES_VERSION else None
        statements = document.get("Statement", [])
        for number, stmt in enumerate(statements if isinstance(statements, list) else [statements]):
            applies = _statement(stmt, request, ctx, variables, resource_based)
            effect = stmt.get("Effect") if applies else None  # Effect is case-sensitive
            if effect == "Deny":
                denied = True
            elif effect == "Allow":
                granting.append((index, number))
                if allowed != "direct":
                    allowed = applies
    return present, denied, allowed, granting


def _context(request: Request) -> dict:
    """The request context, keys lower-cased (condition key names are case-insensitive, tag keys in
    aws:PrincipalTag/ included), values as lists of strings; keys AWS derives from the principal are
    added unless the caller set them. aws:PrincipalArn of a session is its role's ARN."""
    arn = request.principal_arn
    derived = {"aws:PrincipalArn": _role_arn(request) or arn, "aws:PrincipalAccount": request.principal_account,
               "aws:PrincipalType": "AssumedRole" if ":assumed-role/" in arn else "User" if ":user/" in arn
               else "Account" if arn.endswith(":root") else "FederatedUser" if ":federated-user/" in arn else None}
    if ":user/" in arn:
        derived["aws:username"] = arn.rsplit("/", 1)[-1]
    if request.resource_account:
        derived["aws:ResourceAccount"] = request.resource_account
    ctx = {k.lower(): _strs(v) for k, v in derived.items() if v is not None}
    ctx.update({str(k).lower(): _strs(v) for k, v in (request.context or {}).items() if v is not None})
    return ctx


def evaluate(request: Request, identity_policies: list, session_policies: list = (), resource_policy=None,
             permissions_boundary=None, resource_policy_required: bool = False) -> Decision:
    """Allow or deny `request`. Policies may be dicts or JSON strings (URL-encoded when they do not
    start with '{'); `resource_policy` and `permissions_boundary` are one document (or None).

    1. An explicit Deny in any policy wins.
       https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
    2. Same account: an identity policy OR the resource policy must allow; a resource policy naming
       only the caller's account delegates to the identity policies, so it adds nothing. The root
       user has full access. Then the permissions boundary and the session policies (intersection).
       https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
       https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    3. Cross-account: an identity policy AND the resource policy (naming the caller or its account).
       https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    4. `resource_policy_required` (a KMS key policy): the resource policy must allow, directly or by
       naming the account, which then delegates to the identity policies; the root user included.
       https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    """
    ctx = _context(request)
    root = bool(re.fullmatch(r"arn:[\w-]+:iam::\d{12}:root", request.principal_arn))
    checked = {
        "identity-based policy": _outcomes(identity_policies, request, ctx),
        "session policy": _outcomes(session_policies, request, ctx),
        "resource-based policy": _outcomes(resource_policy, request, ctx, resource_based=True),
        "permissions boundary": _outcomes(permissions_boundary, request, ctx),
    }

    def decide(reason: str) -> Decision:
        granted_by = tuple([("identity", d, s) for d, s in checked["identity-based policy"][3]]
                           + [("resource", d, s) for d, s in checked["resource-based policy"][3]]) if reason == ALLOWED else ()
        return Decision(reason == ALLOWED, reason, request.principal_arn, request.action, request.resource, granted_by)

    for kind, (_, denied, _, _) in checked.items():
        if denied:
            return decide(f"explicit deny in {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    identity = root or checked["identity-based policy"][2] is not None
    granted = checked["resource-based policy"][2]
    if resource_policy_required and granted is None:
        return decide("no resource-based policy allows")
    if resource_policy_required and granted == "account" and not identity:
        return decide("no identity-based policy allows")
    if request.resource_account in (None, "", request.principal_account):
        if not (identity or granted == "direct"):
            return decide("no identity-based policy allows")
    elif not identity:
        return decide("no identity-based policy allows")
    elif granted is None:
        return decide("no resource-based policy allows")
    for kind, reason in (("permissions boundary", "no permissions boundary allows"),
                         ("session policy", "no session policy allows")):
        present, _, allowed, _ = checked[kind]
        if present and allowed is None:  # given, so the permissions are its intersection
            return decide(reason)
    return decide(ALLOWED)
