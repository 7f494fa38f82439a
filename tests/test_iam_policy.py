"""Unit tests of hubsim.iam_policy, the evaluator of IAM policies (AWS's documented evaluation logic)."""
import json
import urllib.parse

import pytest

from hubsim.iam_policy import Decision, Request, evaluate, matches

HUB = "111111111111"
SPOKE = "222222222222"
ROLE = f"arn:aws:iam::{HUB}:role/tenants/TenantAccess"
SESSION = f"arn:aws:sts::{HUB}:assumed-role/TenantAccess/t-1@{SPOKE}"
PROFILE = f"arn:aws:bedrock:us-east-1:{HUB}:application-inference-profile/abc"
INVOKE = "bedrock:InvokeModel"
TENANT_TAG = "genai-hub:tenant-id"


def doc(*statements, version="2012-10-17"):
    document = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return document


def allow(action="*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def session_request(**overrides):
    fields = dict(action=INVOKE, resource=PROFILE, principal_arn=SESSION, principal_account=HUB, role_arn=ROLE)
    return Request(**{**fields, **overrides})


def spoke_user(**overrides):
    fields = dict(action=INVOKE, resource=PROFILE, principal_arn=f"arn:aws:iam::{SPOKE}:user/alice",
                  principal_account=SPOKE, resource_account=HUB)
    return Request(**{**fields, **overrides})


# --- identity-based policies -------------------------------------------------------------------

def test_an_identity_policy_allowing_the_action_allows():
    # Given an identity policy allowing the invocation of the profile
    policy = doc(allow(INVOKE, PROFILE))
    # When the session invokes it
    decision = evaluate(session_request(), [policy])
    # Then it is allowed
    assert decision == Decision(True, "allowed", SESSION, INVOKE, PROFILE)


def test_without_an_allowing_statement_the_request_is_implicitly_denied_with_aws_wording():
    # Given an identity policy allowing another action only
    policy = doc(allow("bedrock:GetInferenceProfile", PROFILE))
    # When the session invokes the profile
    decision = evaluate(session_request(), [policy])
    # Then it is denied because no identity-based policy allows it, in AWS's words
    assert not decision.allowed
    assert decision.reason == "no identity-based policy allows"
    assert decision.message() == (
        f"User: {SESSION} is not authorized to perform: {INVOKE} on resource: {PROFILE} "
        f"because no identity-based policy allows the {INVOKE} action")


def test_an_explicit_deny_overrides_any_allow():
    # Given one policy allowing everything and another denying bedrock:Invoke*
    policies = [doc(allow()), doc(deny("bedrock:Invoke*"))]
    # When the session invokes the profile
    decision = evaluate(session_request(), policies)
    # Then the deny wins, with AWS's wording
    assert decision.reason == "explicit deny in an identity-based policy"
    assert decision.message() == (f"User: {SESSION} is not authorized to perform: {INVOKE} on resource: {PROFILE} "
                                  "with an explicit deny in an identity-based policy")


@pytest.mark.parametrize("where, reason", [
    ("session_policies", "explicit deny in a session policy"),
    ("resource_policy", "explicit deny in a resource-based policy"),
    ("permissions_boundary", "explicit deny in a permissions boundary"),
])
def test_an_explicit_deny_in_any_policy_type_wins(where, reason):
    # Given identity, session, resource and boundary policies all allowing, and a deny added to one of them
    policies = {"session_policies": [doc(allow())], "resource_policy": doc(allow(Principal="*")),
                "permissions_boundary": doc(allow())}
    denying = doc(allow(Principal="*"), deny(INVOKE, Principal="*"))  # Principal is ignored outside resource policies
    policies[where] = [denying] if where == "session_policies" else denying
    # When the session invokes the profile
    decision = evaluate(session_request(), [doc(allow())], **policies)
    # Then the request is denied, naming the policy type that denied
    assert (decision.allowed, decision.reason) == (False, reason)
    assert decision.message().endswith(f"with an {reason}")


def test_actions_match_case_insensitively_with_wildcards():
    # Given a policy whose action differs in case and uses both wildcards
    policy = doc(allow(["Bedrock:invoke?odel*"], PROFILE))
    # When the session calls InvokeModel and InvokeModelWithResponseStream, and Converse
    # Then the first two match and Converse does not
    assert evaluate(session_request(), [policy]).allowed
    assert evaluate(session_request(action="bedrock:InvokeModelWithResponseStream"), [policy]).allowed
    assert not evaluate(session_request(action="bedrock:Converse"), [policy]).allowed


def test_resources_match_case_sensitively():
    # Given a policy naming the profile with an upper-case id
    policy = doc(allow(INVOKE, PROFILE.upper()[:-3] + "ABC"))
    # When the session invokes the lower-case profile
    # Then the resource does not match
    assert not evaluate(session_request(), [policy]).allowed


def test_not_action_allows_everything_but_the_listed_actions():
    # Given a policy allowing everything except IAM
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    # When the session calls bedrock, then iam
    # Then bedrock is allowed and iam is not
    assert evaluate(session_request(), [policy]).allowed
    assert not evaluate(session_request(action="iam:CreateUser"), [policy]).allowed


def test_not_resource_allows_everything_but_the_listed_resources():
    # Given a policy allowing invocation of everything except this account's profiles
    policy = doc({"Effect": "Allow", "Action": INVOKE,
                  "NotResource": f"arn:aws:bedrock:*:{HUB}:application-inference-profile/*"})
    # When the session invokes a profile, then a foundation model
    # Then the profile is refused and the model allowed
    assert not evaluate(session_request(), [policy]).allowed
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3"
    assert evaluate(session_request(resource=model), [policy]).allowed


def test_a_statement_list_may_be_a_single_dict_and_actions_a_list():
    # Given a policy whose Statement is one dict with a list of actions
    policy = {"Version": "2012-10-17", "Statement": allow(["bedrock:Converse", INVOKE], [PROFILE])}
    # When the session invokes the profile
    # Then it is allowed
    assert evaluate(session_request(), [policy]).allowed


# --- the glob ---------------------------------------------------------------------------------

def test_matches_is_iams_glob_for_arns():
    # Given ARN patterns with * and ?
    # When matched against ARNs
    # Then * spans anything at the end of a segment or after the fifth colon, ? one character,
    # case matters, and a * inside a segment does not cross a colon
    assert matches("arn:aws:bedrock:*:111111111111:application-inference-profile/*", PROFILE)
    assert matches("arn:aws:bedrock:us-east-?:*", PROFILE)
    assert matches("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1///test///o.jpg")
    assert not matches("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1-test/o.jpg")
    assert not matches("arn:aws:bedrock:*:111111111111:application-inference-profile/ABC", PROFILE)
    assert not matches("arn:aws:bedrock:us-*1:111111111111:*", "arn:aws:bedrock:us-east:x-1:111111111111:a")
    assert matches("*", PROFILE) and not matches("arn:aws:bedrock:*:222222222222:*", PROFILE)


# --- conditions --------------------------------------------------------------------------------

def test_string_like_and_arn_like_accept_wildcards():
    # Given a policy requiring the call to go through one of this account's profiles
    policy = doc(allow(INVOKE, "*", Condition={
        "ArnLike": {"bedrock:InferenceProfileArn": f"arn:aws:bedrock:*:{HUB}:application-inference-profile/*"},
        "StringLike": {"aws:userid": "AROA*:t-?@*"}}))
    good = {"bedrock:InferenceProfileArn": PROFILE, "aws:userid": f"AROAEXAMPLE:t-1@{SPOKE}"}
    # When the context satisfies both, then the profile belongs to another account
    # Then only the first is allowed
    assert evaluate(session_request(context=good), [policy]).allowed
    other = {**good, "bedrock:InferenceProfileArn": PROFILE.replace(HUB, SPOKE)}
    assert not evaluate(session_request(context=other), [policy]).allowed


def test_string_equals_takes_wildcards_literally():
    # Given a StringEquals condition whose value holds a *
    policy = doc(allow(INVOKE, "*", Condition={"StringEquals": {"k:key": "a*"}}))
    # When the context value is "abc", then literally "a*"
    # Then only the literal value matches
    assert not evaluate(session_request(context={"k:key": "abc"}), [policy]).allowed
    assert evaluate(session_request(context={"k:key": "a*"}), [policy]).allowed


def test_principal_tag_variable_must_equal_the_resource_tag():
    # Given the tenant role's ABAC statement: the profile's tenant tag must be the session's
    policy = doc(allow(INVOKE, f"arn:aws:bedrock:*:{HUB}:application-inference-profile/*", Condition={
        "StringEquals": {f"aws:ResourceTag/{TENANT_TAG}": f"${{aws:PrincipalTag/{TENANT_TAG}}}"}}))
    # When the tags agree, differ, or the session has no tenant tag
    same = {f"aws:PrincipalTag/{TENANT_TAG}": "t-1", f"aws:ResourceTag/{TENANT_TAG}": "t-1"}
    other = {**same, f"aws:ResourceTag/{TENANT_TAG}": "t-2"}
    untagged = {f"aws:ResourceTag/{TENANT_TAG}": "t-1"}
    # Then only agreeing tags are allowed (a variable with no value matches nothing)
    assert evaluate(session_request(context=same), [policy]).allowed
    assert not evaluate(session_request(context=other), [policy]).allowed
    assert not evaluate(session_request(context=untagged), [policy]).allowed


def test_context_key_names_are_case_insensitive_and_values_case_sensitive():
    # Given a condition on a principal tag spelled in another case
    policy = doc(allow(INVOKE, "*", Condition={"StringEquals": {"AWS:principaltag/GENAI-HUB:Tenant-Id": "t-1"}}))
    # When the context spells the key differently, with the same value, then another-case value
    # Then the key matches whatever its case, the value only exactly
    assert evaluate(session_request(context={f"aws:PrincipalTag/{TENANT_TAG}": "t-1"}), [policy]).allowed
    assert not evaluate(session_request(context={f"aws:PrincipalTag/{TENANT_TAG}": "T-1"}), [policy]).allowed


def test_a_negated_operator_with_a_variable_without_value_matches():
    # Given AWS's example: deny unless the object's team tag equals the principal's
    policy = doc(allow(), deny("s3:GetObject", "*", Condition={
        "StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}))
    get = dict(action="s3:GetObject", resource="arn:aws:s3:::b/o")
    # When the principal has no Team tag, then the same Team tag
    untagged = evaluate(session_request(**get, context={"s3:ExistingObjectTag/Team": "x"}), [policy])
    tagged = session_request(**get, context={"s3:ExistingObjectTag/Team": "x", "aws:PrincipalTag/Team": "x"})
    # Then the untagged principal is denied ("inverted operators do match against a null value")
    assert untagged.reason == "explicit deny in an identity-based policy"
    assert evaluate(tagged, [policy]).allowed


@pytest.mark.parametrize("operator, context, applies", [
    ("StringEquals", {}, False),                    # absent key: a positive operator is false
    ("StringNotEquals", {}, True),                  # absent key: a negated operator is true
    ("StringEqualsIfExists", {}, True),             # IfExists: absent key is true
    ("StringEqualsIfExists", {"k:key": "other"}, False),
    ("StringNotLike", {"k:key": "valXY"}, True),    # ? is exactly one character
    ("StringNotLike", {"k:key": "val*"}, False),    # the context's * is a plain character
    ("StringNotEquals", {"k:key": "a"}, False),     # negated with several values: NOR
    ("StringNotEquals", {"k:key": "c"}, True),
    ("StringEqualsIgnoreCase", {"k:key": "B"}, True),
    ("StringNotEqualsIgnoreCase", {"k:key": "B"}, False),
])
def test_missing_key_and_negation_semantics(operator, context, applies):
    # Given a statement whose condition compares k:key with ["a", "b"] (or "val?" for the Like)
    values = ["val?"] if "Like" in operator else ["a", "b"]
    policy = doc(allow(INVOKE, "*", Condition={operator: {"k:key": values}}))
    # When evaluated with the context
    decision = evaluate(session_request(context=context), [policy])
    # Then the statement applies exactly when AWS says the condition holds
    assert decision.allowed is applies


@pytest.mark.parametrize("null, context, applies", [
    ("true", {}, True), ("true", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, False),
    ("false", {}, False), ("false", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, True),
])
def test_null_checks_presence(null, context, applies):
    # Given a statement allowing only when aws:TokenIssueTime is (not) absent
    policy = doc(allow(INVOKE, "*", Condition={"Null": {"aws:TokenIssueTime": null}}))
    # When evaluated with or without the key
    # Then Null "true" means absent, "false" present
    assert evaluate(session_request(context=context), [policy]).allowed is applies


def test_date_less_than_on_token_issue_time_revokes_older_sessions():
    # Given the revocation statement: deny sessions of tenant t-1 issued before noon
    revocation = doc(deny("bedrock:*", "*", Condition={
        "StringEquals": {f"aws:PrincipalTag/{TENANT_TAG}": ["t-1"]},
        "DateLessThan": {"aws:TokenIssueTime": "2025-06-01T12:00:00Z"}}))
    policies = [doc(allow()), revocation]
    tag = {f"aws:PrincipalTag/{TENANT_TAG}": "t-1"}
    # When a session was issued before noon (also in epoch seconds, or with an offset), after noon
    # (with an offset), or belongs to another tenant
    before = evaluate(session_request(context={**tag, "aws:TokenIssueTime": "2025-06-01T11:59:59Z"}), policies)
    after = evaluate(session_request(context={**tag, "aws:TokenIssueTime": "2025-06-01T14:00:01+02:00"}), policies)
    epoch = evaluate(session_request(context={**tag, "aws:TokenIssueTime": "1748779199"}), policies)  # 11:59:59Z
    offset = evaluate(session_request(context={**tag, "aws:TokenIssueTime": "2025-06-01T13:59:59+02:00"}), policies)
    other = evaluate(session_request(context={f"aws:PrincipalTag/{TENANT_TAG}": "t-2",
                                              "aws:TokenIssueTime": "2025-06-01T11:00:00Z"}), policies)
    # Then only the older sessions of t-1 are denied, compared as UTC
    assert before.reason == "explicit deny in an identity-based policy"
    assert epoch.reason == "explicit deny in an identity-based policy"
    assert offset.reason == "explicit deny in an identity-based policy"
    assert after.allowed and other.allowed


def test_for_any_value_and_for_all_values_on_a_multivalued_key():
    # Given one statement per set operator on aws:TagKeys
    any_value = doc(allow(INVOKE, "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "cost"]}}))
    all_values = doc(allow(INVOKE, "*", Condition={"ForAllValues:StringLike": {"aws:TagKeys": ["team", "cost*"]}}))
    # When the request carries keys, some outside the policy's, or none at all
    inside = {"aws:TagKeys": ["team", "costcenter"]}
    mixed = {"aws:TagKeys": ["team", "owner"]}
    # Then ForAnyValue needs one match (and fails without the key); ForAllValues needs every value
    # to match (and holds without the key, as AWS warns)
    assert evaluate(session_request(context=mixed), [any_value]).allowed
    assert not evaluate(session_request(context={"aws:TagKeys": ["owner"]}), [any_value]).allowed
    assert not evaluate(session_request(), [any_value]).allowed
    assert evaluate(session_request(context=inside), [all_values]).allowed
    assert not evaluate(session_request(context=mixed), [all_values]).allowed
    assert evaluate(session_request(), [all_values]).allowed


def test_for_all_values_with_a_negated_operator_requires_every_value_to_differ():
    # Given AWS's example: deny when any tag key does not start with key1
    policy = doc(allow(), deny("iam:Tag*", "*", Condition={"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}))
    tag = dict(action="iam:TagRole", resource=ROLE)
    # When every key starts with key1, then one does not
    # Then AWS's table: no match (not denied) for key1:hr + key1:personnel, match (denied) for key2:audit
    ok = session_request(**tag, context={"aws:TagKeys": ["key1:hr", "key1:personnel"]})
    bad = session_request(**tag, context={"aws:TagKeys": ["key2:audit"]})
    assert evaluate(ok, [policy]).allowed
    assert not evaluate(bad, [policy]).allowed


@pytest.mark.parametrize("condition, context, applies", [
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": False}, False),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, True),
    ({"DateGreaterThanEquals": {"aws:CurrentTime": "2025-01-01"}}, {"aws:CurrentTime": "2025-01-01T00:00:00Z"}, True),
    ({"ArnEquals": {"aws:SourceArn": f"arn:aws:states:*:{HUB}:stateMachine:x"}},
     {"aws:SourceArn": f"arn:aws:states:us-east-1:{HUB}:stateMachine:x"}, True),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:states:*"}}, {}, True),
])
def test_numeric_bool_ip_date_and_arn_operators(condition, context, applies):
    # Given a statement with the condition
    policy = doc(allow(INVOKE, "*", Condition=condition))
    # When evaluated with the context
    # Then it applies as the operator defines
    assert evaluate(session_request(context=context), [policy]).allowed is applies


def test_an_unknown_operator_makes_the_statement_not_match_without_raising():
    # Given an allowing and a denying statement, each with an unknown operator
    policies = [doc(allow(INVOKE, "*", Condition={"StringEqualz": {"k:key": "a"}})),
                doc(allow(), deny(INVOKE, "*", Condition={"NullIfExists": {"k:key": "true"}}))]
    # When evaluated
    # Then the allow grants nothing and the deny denies nothing
    assert evaluate(session_request(context={"k:key": "a"}), policies[:1]).reason == "no identity-based policy allows"
    assert evaluate(session_request(), policies[1:]).allowed


# --- policy variables --------------------------------------------------------------------------

def test_variables_in_resources_with_defaults_and_special_characters():
    # Given resources built from a principal tag (with a default) and from ${*}
    policy = doc(allow("s3:GetObject", ["arn:aws:s3:::bucket-${aws:PrincipalTag/team, 'company-wide'}/*",
                                        "arn:aws:s3:::lit/${*}${?}${$}"]))
    # When a tagged and an untagged principal read their bucket, and the literal key "*?$" is read
    tagged = session_request(action="s3:GetObject", resource="arn:aws:s3:::bucket-yellow/o",
                             context={"aws:PrincipalTag/team": "yellow"})
    untagged = session_request(action="s3:GetObject", resource="arn:aws:s3:::bucket-company-wide/o")
    literal = session_request(action="s3:GetObject", resource="arn:aws:s3:::lit/*?$")
    wildcard = session_request(action="s3:GetObject", resource="arn:aws:s3:::lit/ab$")
    # Then each gets its own bucket, and ${*} is a literal *, not a wildcard
    assert evaluate(tagged, [policy]).allowed and evaluate(untagged, [policy]).allowed
    assert not evaluate(untagged, [doc(allow("s3:GetObject", "arn:aws:s3:::bucket-yellow/*"))]).allowed
    assert evaluate(literal, [policy]).allowed
    assert not evaluate(wildcard, [policy]).allowed


def test_a_resource_with_a_variable_without_value_matches_nothing():
    # Given a resource built from the user name, which a role session does not have
    policy = doc(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"))
    # When a user and a role session read under home/
    user = Request("s3:GetObject", "arn:aws:s3:::home/alice/x", f"arn:aws:iam::{HUB}:user/alice", HUB)
    session = session_request(action="s3:GetObject", resource="arn:aws:s3:::home//x")
    # Then the user matches its own prefix and the session nothing
    assert evaluate(user, [policy]).allowed
    assert not evaluate(session, [policy]).allowed


def test_without_version_2012_10_17_variables_are_literal_text():
    # Given the same policy without a Version element
    policy = doc(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"), version=None)
    # When the user reads its prefix
    user = Request("s3:GetObject", "arn:aws:s3:::home/alice/x", f"arn:aws:iam::{HUB}:user/alice", HUB)
    # Then nothing matches: the variable stayed literal, as AWS documents
    assert not evaluate(user, [policy]).allowed
    # And its conditions still read the request context, with variables as literal text
    conditional = doc(allow(INVOKE, "*", Condition={"StringEquals": {"k:key": ["a", "${k:key}"]}}), version=None)
    assert evaluate(session_request(context={"k:key": "a"}), [conditional]).allowed
    assert evaluate(session_request(context={"k:key": "${k:key}"}), [conditional]).allowed
    assert not evaluate(session_request(context={"k:key": "b"}), [conditional]).allowed


def test_a_session_principal_arn_is_its_roles_arn():
    # Given a condition on aws:PrincipalArn naming the role
    policy = doc(allow(INVOKE, "*", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE}}))
    # When the role's session calls (even without role_arn given, read from the session ARN without path)
    # Then aws:PrincipalArn is the role's ARN
    assert evaluate(session_request(), [policy]).allowed
    pathless = doc(allow(INVOKE, "*", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE.replace("tenants/", "")}}))
    assert evaluate(session_request(role_arn=None), [pathless]).allowed


# --- session policies and permissions boundaries -----------------------------------------------

def test_session_policies_intersect_with_the_identity_policies():
    # Given a role allowing everything and a session policy allowing only foundation models
    session_policy = doc(allow(INVOKE, "arn:aws:bedrock:*::foundation-model/*"))
    # When the session invokes a profile, then a model
    denied = evaluate(session_request(), [doc(allow())], [session_policy])
    model = "arn:aws:bedrock:us-east-1::foundation-model/m"
    # Then the profile is refused because no session policy allows it; the model is allowed
    assert denied.reason == "no session policy allows"
    assert denied.message().endswith(f"because no session policy allows the {INVOKE} action")
    assert evaluate(session_request(resource=model), [doc(allow())], [session_policy]).allowed


def test_a_session_policy_grants_nothing_the_identity_policies_do_not():
    # Given a session policy allowing everything and no identity policy
    # When the session invokes the profile
    decision = evaluate(session_request(), [], [doc(allow())])
    # Then it is denied for want of an identity-based policy
    assert decision.reason == "no identity-based policy allows"


def test_a_permissions_boundary_caps_the_identity_policies():
    # Given a role allowing everything under a boundary allowing only bedrock:Get*
    boundary = doc(allow("bedrock:Get*"))
    # When the session invokes the profile
    decision = evaluate(session_request(), [doc(allow())], permissions_boundary=boundary)
    # Then the boundary refuses it
    assert decision.reason == "no permissions boundary allows"
    assert decision.message().endswith(f"because no permissions boundary allows the {INVOKE} action")


# --- resource-based policies and cross-account ------------------------------------------------

def test_cross_account_without_a_resource_policy_is_denied_even_with_allow_star():
    # Given a spoke user whose identity policy allows everything, and no resource policy on the hub's profile
    # When the user invokes the hub's profile
    decision = evaluate(spoke_user(), [doc(allow())])
    # Then it is denied because no resource-based policy allows it
    assert decision.reason == "no resource-based policy allows"
    assert decision.message() == (
        f"User: arn:aws:iam::{SPOKE}:user/alice is not authorized to perform: {INVOKE} on resource: {PROFILE} "
        f"because no resource-based policy allows the {INVOKE} action")


@pytest.mark.parametrize("principal", [{"AWS": SPOKE}, {"AWS": f"arn:aws:iam::{SPOKE}:root"}, {"AWS": ["*"]}, "*"])
def test_cross_account_with_a_resource_policy_naming_the_callers_account_is_allowed(principal):
    # Given a resource policy naming the spoke account (or everyone) and an allowing identity policy
    resource_policy = doc(allow(INVOKE, PROFILE, Principal=principal))
    # When the spoke user invokes the profile
    # Then it is allowed; without the identity policy it is not
    assert evaluate(spoke_user(), [doc(allow())], resource_policy=resource_policy).allowed
    assert evaluate(spoke_user(), [], resource_policy=resource_policy).reason == "no identity-based policy allows"


def test_cross_account_resource_policy_naming_another_account_or_a_service_does_not_allow():
    # Given resource policies naming another account, and a service
    for principal in ({"AWS": "333333333333"}, {"Service": "bedrock.amazonaws.com"}):
        resource_policy = json.dumps(doc(allow(INVOKE, PROFILE, Principal=principal)))
        # When the spoke user invokes the profile
        decision = evaluate(spoke_user(), [doc(allow())], resource_policy=resource_policy)
        # Then no resource-based policy allows it
        assert decision.reason == "no resource-based policy allows"


def test_a_resource_policy_naming_a_role_matches_its_sessions():
    # Given a hub resource policy naming a spoke role (with a path)
    spoke_role = f"arn:aws:iam::{SPOKE}:role/apps/Caller"
    resource_policy = doc(allow(INVOKE, PROFILE, Principal={"AWS": spoke_role}))
    caller = spoke_user(principal_arn=f"arn:aws:sts::{SPOKE}:assumed-role/Caller/s1", role_arn=spoke_role)
    # When a session of that role calls, then a session of another role
    other = spoke_user(principal_arn=f"arn:aws:sts::{SPOKE}:assumed-role/Other/s1",
                       role_arn=f"arn:aws:iam::{SPOKE}:role/Other")
    # Then only the named role's session is allowed
    assert evaluate(caller, [doc(allow())], resource_policy=resource_policy).allowed
    assert evaluate(other, [doc(allow())], resource_policy=resource_policy).reason == "no resource-based policy allows"


def test_same_account_a_resource_policy_naming_the_caller_suffices_but_naming_the_account_delegates():
    # Given same-account resource policies naming the session's role, and naming only the account
    by_role = doc(allow(INVOKE, PROFILE, Principal={"AWS": ROLE}))
    by_account = doc(allow(INVOKE, PROFILE, Principal={"AWS": HUB}))
    # When the session, with no identity policy, invokes the profile
    # Then the role's grant allows it, while the account's only delegates to the (absent) identity policies
    assert evaluate(session_request(), [], resource_policy=by_role).allowed
    assert evaluate(session_request(), [], resource_policy=by_account).reason == "no identity-based policy allows"
    # And a session policy still limits what the resource policy grants (this module's simplification)
    assert evaluate(session_request(), [], [doc(allow("s3:*"))], by_role).reason == "no session policy allows"


def test_a_resource_policy_statement_without_principal_grants_nothing():
    # Given a resource policy statement that names no principal
    resource_policy = doc(allow(INVOKE, PROFILE))
    # When the session, without identity policy, and the spoke user call
    # Then neither is allowed by it
    assert evaluate(session_request(), [], resource_policy=resource_policy).reason == "no identity-based policy allows"
    assert evaluate(spoke_user(), [doc(allow())], resource_policy=resource_policy).reason == (
        "no resource-based policy allows")


def test_a_trust_policy_without_resource_covers_its_role():
    # Given a role trust policy (no Resource element) trusting the hub account with an external id
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"sts:ExternalId": "x-1"}}})
    spoke_role = f"arn:aws:iam::{SPOKE}:role/spoke"
    assume = dict(action="sts:AssumeRole", resource=spoke_role, resource_account=SPOKE)
    # When the hub session assumes the spoke role with the right, then a wrong external id
    right = evaluate(session_request(**assume, context={"sts:ExternalId": "x-1"}), [doc(allow())], resource_policy=trust)
    wrong = evaluate(session_request(**assume, context={"sts:ExternalId": "x-2"}), [doc(allow())], resource_policy=trust)
    # Then only the right one is allowed; an identity statement without Resource still matches nothing
    assert right.allowed and wrong.reason == "no resource-based policy allows"
    no_resource = doc({"Effect": "Allow", "Action": "*"})
    assert evaluate(session_request(), [no_resource]).reason == "no identity-based policy allows"


def test_not_principal_in_a_deny_spares_the_named_principal():
    # Given a resource policy denying everyone but the hub role
    resource_policy = doc(allow(INVOKE, PROFILE, Principal="*"),
                          {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "*", "Resource": "*"})
    # When the role's session calls, then the spoke user
    # Then the session is allowed and the spoke user explicitly denied
    assert evaluate(session_request(), [], resource_policy=resource_policy).allowed
    assert evaluate(spoke_user(), [doc(allow())], resource_policy=resource_policy).reason == (
        "explicit deny in a resource-based policy")


def test_the_account_root_user_has_full_access_to_its_account():
    # Given the hub's root user and no policies
    root = Request(INVOKE, PROFILE, f"arn:aws:iam::{HUB}:root", HUB)
    # When it invokes the profile, then a denying policy applies
    # Then it is allowed, except by an explicit deny
    assert evaluate(root, []).allowed
    assert not evaluate(root, [], resource_policy=doc(deny(Principal="*"))).allowed


# --- input forms -------------------------------------------------------------------------------

def test_policies_may_be_json_or_url_encoded_json_and_non_json_raises():
    # Given the same policy as JSON text and URL-encoded JSON text (as moto stores it)
    text = json.dumps(doc(allow(INVOKE, PROFILE)))
    # When evaluated
    # Then both are read; text that is not JSON raises ValueError
    assert evaluate(session_request(), [text]).allowed
    assert evaluate(session_request(), [urllib.parse.quote(text)]).allowed
    with pytest.raises(ValueError):
        evaluate(session_request(), ["not a policy"])


@pytest.mark.parametrize("policy", [
    {}, {"Statement": "x"}, {"Statement": [1, None, {"Effect": "Allow"}]},
    {"Statement": {"Effect": "Allow", "Action": INVOKE}},            # no Resource
    {"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}},  # Effect is case-sensitive
    {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": "x"}},
    {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": ["x"]}}},
    [1, 2],
])
def test_malformed_but_json_policies_allow_nothing_and_never_raise(policy):
    # Given a malformed policy document
    # When evaluated (as a dict or as JSON text)
    # Then nothing is allowed and nothing raises
    assert evaluate(session_request(), [policy]).reason == "no identity-based policy allows"
    assert evaluate(session_request(), [json.dumps(policy)]).reason == "no identity-based policy allows"
