"""Bedrock Guardrails: guardrails and their versions (control plane and CloudFormation), and their
application to Converse and InvokeModel (hubsim.patches.bedrock_runtime calls `apply_to`).

moto 5.2.5 has no guardrail at all. What the hub uses is emulated on moto's per-account, per-Region
`BedrockBackend` (reset with the rest of moto):

- Control plane (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateGuardrail.html and
  its siblings): CreateGuardrail (a name used by another guardrail of the account and Region is a
  ConflictException; the DRAFT holds the configuration), CreateGuardrailVersion (a numbered snapshot
  of the DRAFT: "1", "2", ...), GetGuardrail (DRAFT unless guardrailVersion is given; the policies in
  the GET shapes: `topicPolicy.topics`, `wordPolicy.words`/`managedWordLists`,
  `sensitiveInformationPolicy.regexes`/`piiEntities`, `contentPolicy.filters`), ListGuardrails (the
  DRAFT of each guardrail, or every version of one with guardrailIdentifier), DeleteGuardrail (one
  version, or the whole guardrail). Identifiers are ids or ARNs; an unknown one is a
  ResourceNotFoundException.
- CloudFormation: `AWS::Bedrock::Guardrail` (Ref: the guardrail ARN; GetAtt GuardrailArn,
  GuardrailId, Version (DRAFT), Status, StatusReasons, FailureRecommendations, CreatedAt, UpdatedAt)
  and `AWS::Bedrock::GuardrailVersion` (Ref: `<id>|<version>`; GetAtt GuardrailArn, GuardrailId,
  Version):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrail.html,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrailversion.html.
  Properties are the API's configuration with PascalCase keys (TopicPolicyConfig.TopicsConfig...).
- Runtime (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-use-converse-api.html,
  https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-test.html): the prompt (system and
  messages) is assessed before the model (an intervention answers the guardrail's
  blockedInputMessaging, the model is not called: no model tokens, no AWS/Bedrock invocation
  metrics), the answer after it (an intervention answers blockedOutputsMessaging; the model's tokens
  were spent). Converse then has stopReason `guardrail_intervened`; with `trace` enabled,
  `trace.guardrail` is a GuardrailTraceAssessment: `inputAssessment[<id>]`, `outputAssessments[<id>]`
  (a list), and on an intervention `actionReason` ("Guardrail blocked.", as Bedrock's invocation logs
  record it) and, when the answer was blocked, `modelOutput` (what the model said). InvokeModel's body
  carries `amazon-bedrock-guardrailAction` (INTERVENED or NONE) and, traced, `amazon-bedrock-trace.
  guardrail` in the InvokeModel layout of "Test your guardrail": `input[<id>]`, `outputs` (a list of
  `{<id>: assessment}`), `modelOutput`, `actionReason`. A body with `amazon-bedrock-guardrailConfig`
  but no guardrail, or a guardrail with a contentType other than application/json, is a
  ValidationException (InvokeModel API reference; the wording is ours). A guardrail the account does
  not have is a ValidationException "The provided guardrail identifier is invalid.", a version it
  does not have "The guardrail identifier or version provided in the request does not exist." (the
  two messages Bedrock answers, as recorded by its callers).
  A documented SUBSET of the policies is applied, deterministically (Bedrock's own filters are ML
  classifiers): custom words and phrases (case-insensitive, whole words); regexes (Python `re`,
  action BLOCK blocks, ANONYMIZE masks the match as `{<name>}` in an answer); denied topics: a topic
  matches when the text contains one of its `examples` or its name (hyphens read as spaces),
  case-insensitively, ignoring punctuation. Content filters, PII entities, managed word lists,
  contextual grounding and automated reasoning are kept in the configuration (and counted in the
  usage units) but never match; `guardContent` blocks and input tags are not read.
- IAM: the caller needs bedrock:ApplyGuardrail on the guardrail
  (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions.html), and every
  authorisation of the call carries the condition key `bedrock:GuardrailIdentifier`
  (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions-id.html): for a
  numbered version `<guardrail ARN>:<version>` (Example 1; Example 3's ArnLike `<ARN>:*` matches
  numbered versions only), for DRAFT the bare `<guardrail ARN>` (Example 2; Example 4's `<ARN>*`
  matches both). A call without a guardrail has no such key (a Null condition sees it absent). A bare
  id in the request is normalised to the ARN (the page compares ARNs only; callers report an id and
  the ARN behaving alike under such policies). The guardrail must be of the caller's account: Bedrock
  Guardrails have no resource-based policy, so bedrock:ApplyGuardrail on another account's is refused.
- Metrics (https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-guardrails-cw-metrics.html):
  namespace `AWS/Bedrock/Guardrails`, one set of data per assessment (the prompt, then the answer),
  on the dimension sets the page lists: {GuardrailArn, GuardrailVersion} and {GuardrailContentSource}
  (Input, Output) with Invocations, InvocationsIntervened, TextUnitCount and InvocationLatency;
  {GuardrailPolicyType} (ContentPolicy, TopicPolicy, WordPolicy, SensitiveInformationPolicy,
  ContextualGroundingPolicy), for each policy the guardrail has, with its TextUnitCount and
  InvocationsIntervened. TextUnitCount is the assessment's usage units (a text unit is up to 1,000
  characters, per policy); the per-guardrail and per-source ones are their sum. The Operation
  dimension is documented with the value ApplyGuardrail only, so inference calls do not put it.
"""
import json
import re
import threading
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

from moto.bedrock import models as bedrock_models
from moto.bedrock.responses import BedrockResponse
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from hubsim.patches import Patch
from hubsim.patches.bedrock import Conflict, ResourceNotFound, Validation  # Bedrock's error shapes, one place

PATCH = Patch(
    name="bedrock-guardrails",
    replaces="moto.bedrock (no guardrail operations, _list_arns without guardrails; no AWS::Bedrock::Guardrail or GuardrailVersion "
             "in CloudFormation), "
             "moto.bedrockruntime (guardrailConfig and the guardrail headers ignored)",
    covered_by="tests/seams/test_guardrails.py",
)

NAMESPACE = "AWS/Bedrock/Guardrails"
_CONFIG_KEYS = {  # request (and CloudFormation) configuration -> GetGuardrail shape
    "topicPolicyConfig": ("topicPolicy", {"topicsConfig": "topics"}),
    "wordPolicyConfig": ("wordPolicy", {"wordsConfig": "words", "managedWordListsConfig": "managedWordLists"}),
    "sensitiveInformationPolicyConfig": ("sensitiveInformationPolicy", {"regexesConfig": "regexes", "piiEntitiesConfig": "piiEntities"}),
    "contentPolicyConfig": ("contentPolicy", {"filtersConfig": "filters"}),
}
_lock = threading.RLock()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _state(backend) -> dict:
    with _lock:
        if not hasattr(backend, "hubsim_guardrails"):
            backend.hubsim_guardrails = {}
        return backend.hubsim_guardrails


def _camel(value):
    """CloudFormation's PascalCase properties as the API's camelCase members (TopicsConfig -> topicsConfig)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _configuration(params: dict) -> dict:
    """The DRAFT of a CreateGuardrail request: its messages and its policies in the GetGuardrail shapes."""
    for required in ("name", "blockedInputMessaging", "blockedOutputsMessaging"):
        if not params.get(required):
            raise Validation(f"1 validation error detected: Value null at '{required}' failed to satisfy constraint: "
                             "Member must not be null")
    draft = {k: params[k] for k in ("name", "description", "blockedInputMessaging", "blockedOutputsMessaging", "kmsKeyArn")
             if params.get(k)}
    for request_key, (shape_key, members) in _CONFIG_KEYS.items():
        if params.get(request_key):
            draft[shape_key] = {members.get(k, k): v for k, v in params[request_key].items()}
    return draft


def create(backend, params: dict) -> dict:
    draft = _configuration(params)
    guardrails = _state(backend)
    with _lock:
        if any(g["versions"]["DRAFT"]["name"] == draft["name"] for g in guardrails.values()):
            raise Conflict(f"A guardrail with the name {draft['name']} already exists.")
        guardrail_id = uuid.uuid4().hex[:12]
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:guardrail/{guardrail_id}"
        now = _now()
        guardrails[guardrail_id] = {"id": guardrail_id, "arn": arn, "createdAt": now, "next": 1,
                                    "versions": {"DRAFT": {**draft, "version": "DRAFT", "createdAt": now, "updatedAt": now}}}
    if params.get("tags"):
        backend.tagger.tag_resource(arn, [{"Key": t["key"], "Value": t["value"]} for t in params["tags"]])
    return guardrails[guardrail_id]


def find(backend, identifier: str) -> dict:
    """The guardrail named by id or ARN in this backend's account and Region."""
    guardrail = _state(backend).get(identifier.rsplit("/", 1)[-1])
    if guardrail is None or identifier not in (guardrail["id"], guardrail["arn"]):
        raise ResourceNotFound(f"Guardrail {identifier} was not found.")
    return guardrail


def version_of(guardrail: dict, version: str | None) -> dict:
    snapshot = guardrail["versions"].get(version or "DRAFT")
    if snapshot is None:
        raise ResourceNotFound(f"Guardrail {guardrail['id']} version {version} was not found.")
    return snapshot


def new_version(backend, identifier: str, description: str | None = None) -> dict:
    guardrail = find(backend, identifier)
    with _lock:
        number = str(guardrail["next"])
        guardrail["next"] += 1
        snapshot = {**guardrail["versions"]["DRAFT"], "version": number, "createdAt": _now(), "updatedAt": _now()}
        if description:
            snapshot["description"] = description
        guardrail["versions"][number] = snapshot
    return snapshot


def _public(guardrail: dict, snapshot: dict) -> dict:
    return {**{k: v for k, v in snapshot.items() if k != "kmsKeyArn" or v}, "guardrailId": guardrail["id"],
            "guardrailArn": guardrail["arn"], "status": "READY"}


# --- control plane ------------------------------------------------------------------------------

def _path_identifier(self) -> str:
    return unquote(self.path.split("/guardrails/", 1)[1].split("?", 1)[0])


def _query(self, name: str) -> str | None:
    return (self.querystring.get(name) or [None])[0]


def create_guardrail(self) -> str:
    guardrail = create(self.bedrock_backend, json.loads(self.body or "{}"))
    return json.dumps({"guardrailId": guardrail["id"], "guardrailArn": guardrail["arn"], "version": "DRAFT",
                       "createdAt": guardrail["createdAt"]})


def create_guardrail_version(self) -> str:
    params = json.loads(self.body or "{}")
    snapshot = new_version(self.bedrock_backend, _path_identifier(self), params.get("description"))
    return json.dumps({"guardrailId": _path_identifier(self).rsplit("/", 1)[-1], "version": snapshot["version"]})


def get_guardrail(self) -> str:
    guardrail = find(self.bedrock_backend, _path_identifier(self))
    return json.dumps(_public(guardrail, version_of(guardrail, _query(self, "guardrailVersion"))))


def _summary(guardrail: dict, snapshot: dict) -> dict:
    return {"id": guardrail["id"], "arn": guardrail["arn"], "status": "READY", "name": snapshot["name"],
            **({"description": snapshot["description"]} if snapshot.get("description") else {}),
            "version": snapshot["version"], "createdAt": snapshot["createdAt"], "updatedAt": snapshot["updatedAt"]}


def list_guardrails(self) -> str:
    backend = self.bedrock_backend
    identifier = _query(self, "guardrailIdentifier")
    if identifier:
        guardrail = find(backend, identifier)
        rows = [_summary(guardrail, s) for s in guardrail["versions"].values()]
    else:
        rows = [_summary(g, g["versions"]["DRAFT"]) for g in list(_state(backend).values())]
    limit, start = int(_query(self, "maxResults") or 1000), int(_query(self, "nextToken") or 0)
    body = {"guardrails": rows[start:start + limit]}
    if start + limit < len(rows):
        body["nextToken"] = str(start + limit)
    return json.dumps(body)


def delete_guardrail(self) -> str:
    backend = self.bedrock_backend
    guardrail = find(backend, _path_identifier(self))
    version = _query(self, "guardrailVersion")
    with _lock:
        if version and version != "DRAFT":
            version_of(guardrail, version)
            del guardrail["versions"][version]
        else:
            _state(backend).pop(guardrail["id"], None)
            backend.tagger.delete_all_tags_for_resource(guardrail["arn"])
    return "{}"


# --- CloudFormation -----------------------------------------------------------------------------

def _backend(account_id: str, region_name: str):
    return bedrock_models.bedrock_backends[account_id][region_name]


class Guardrail(CloudFormationModel):
    """AWS::Bedrock::Guardrail: its DRAFT."""

    def __init__(self, account_id: str, region_name: str, record: dict):
        self.account_id, self.region_name, self.record = account_id, region_name, record

    @property
    def physical_resource_id(self) -> str:
        return self.record["arn"]

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Bedrock::Guardrail"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("GuardrailArn", "GuardrailId", "Version", "Status", "StatusReasons", "FailureRecommendations",
                        "CreatedAt", "UpdatedAt")

    def get_cfn_attribute(self, attribute_name: str):
        draft = self.record["versions"]["DRAFT"]
        # READY at once: no reasons or recommendations, which Bedrock gives only for a FAILED guardrail
        return {"GuardrailArn": self.record["arn"], "GuardrailId": self.record["id"], "Version": "DRAFT", "Status": "READY",
                "StatusReasons": [], "FailureRecommendations": [],
                "CreatedAt": draft["createdAt"], "UpdatedAt": draft["updatedAt"]}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = _camel(cloudformation_json["Properties"])
        properties.setdefault("name", resource_name)
        properties["tags"] = [{"key": t["key"], "value": t["value"]} for t in properties.get("tags") or []]
        return cls(account_id, region_name, create(_backend(account_id, region_name), properties))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        with _lock:
            for guardrail in list(_state(_backend(account_id, region_name)).values()):
                if guardrail["arn"] == resource_name or guardrail["versions"]["DRAFT"]["name"] == resource_name:
                    _state(_backend(account_id, region_name)).pop(guardrail["id"], None)

    def delete(self, account_id: str, region_name: str) -> None:
        with _lock:
            _state(_backend(account_id, region_name)).pop(self.record["id"], None)

    def is_created(self) -> bool:
        return True


class GuardrailVersion(CloudFormationModel):
    """AWS::Bedrock::GuardrailVersion: a numbered snapshot of a guardrail's DRAFT."""

    def __init__(self, guardrail: dict, version: str):
        self.guardrail, self.version = guardrail, version

    @property
    def physical_resource_id(self) -> str:
        return f"{self.guardrail['id']}|{self.version}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Bedrock::GuardrailVersion"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("GuardrailArn", "GuardrailId", "Version")

    def get_cfn_attribute(self, attribute_name: str):
        return {"GuardrailArn": self.guardrail["arn"], "GuardrailId": self.guardrail["id"], "Version": self.version}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        snapshot = new_version(backend, properties["GuardrailIdentifier"], properties.get("Description"))
        return cls(find(backend, properties["GuardrailIdentifier"]), snapshot["version"])

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass  # the version goes with its guardrail

    def is_created(self) -> bool:
        return True


# --- runtime ------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$")
_VERSION = re.compile(r"^(([1-9][0-9]{0,7})|(DRAFT))$")
INVALID_IDENTIFIER = "The provided guardrail identifier is invalid."
UNKNOWN_VERSION = "The guardrail identifier or version provided in the request does not exist."
BLOCKED_REASON = "Guardrail blocked."
# Assessment keys -> the GuardrailPolicyType dimension value and the usage member that counts its units.
_POLICIES = (("topicPolicy", "TopicPolicy", "topicPolicyUnits"), ("contentPolicy", "ContentPolicy", "contentPolicyUnits"),
             ("wordPolicy", "WordPolicy", "wordPolicyUnits"),
             ("sensitiveInformationPolicy", "SensitiveInformationPolicy", "sensitiveInformationPolicyUnits"),
             ("contextualGroundingPolicy", "ContextualGroundingPolicy", "contextualGroundingPolicyUnits"))


class Request:
    """The guardrail a runtime call names, resolved: its record, the version's snapshot, whether traced."""

    def __init__(self, guardrail: dict, snapshot: dict, trace: bool):
        self.guardrail, self.snapshot, self.trace = guardrail, snapshot, trace

    @property
    def condition_value(self) -> str:
        """bedrock:GuardrailIdentifier as IAM compares it: `<ARN>:<version>`, or the bare ARN for DRAFT
        (guardrails-permissions-id, Examples 1 and 2)."""
        version = self.snapshot["version"]
        return self.guardrail["arn"] if version == "DRAFT" else f"{self.guardrail['arn']}:{version}"


def resolve(account: str, region: str, identifier: str | None, version: str | None, trace: str | None) -> Request | None:
    """The call's guardrail, or None when it names none; ValidationException for a half-given or unknown one."""
    if not identifier and not version:
        return None
    if not identifier or not version:
        raise Validation("The guardrail identifier and version must both be provided.")
    if not _IDENTIFIER.match(identifier):
        raise Validation(INVALID_IDENTIFIER)
    if not _VERSION.match(version):
        raise Validation(f"1 validation error detected: Value '{version}' at 'guardrailVersion' failed to satisfy constraint: "
                         "Member must satisfy regular expression pattern: ^(([1-9][0-9]{0,7})|(DRAFT))$")
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        account, region = parts[4], parts[3]
    try:
        guardrail = find(_backend(account, region), identifier)
    except (ResourceNotFound, KeyError):  # KeyError: a Region moto does not know
        raise Validation(INVALID_IDENTIFIER) from None
    try:
        snapshot = version_of(guardrail, version)
    except ResourceNotFound:
        raise Validation(UNKNOWN_VERSION) from None
    return Request(guardrail, snapshot, (trace or "disabled").lower() in ("enabled", "enabled_full"))


def _words(text: str) -> str:
    return " " + re.sub(r"[^\w]+", " ", text.lower()).strip() + " "


def _usage(snapshot: dict, units: int) -> dict:
    """GuardrailUsage: `units` for each policy the guardrail has. Regex-only sensitive-information
    filters are counted as free units (regex filters are not charged, PII filters are: Bedrock pricing)."""
    sensitive = snapshot.get("sensitiveInformationPolicy") or {}
    return {"topicPolicyUnits": units if snapshot.get("topicPolicy") else 0,
            "contentPolicyUnits": units if snapshot.get("contentPolicy") else 0,
            "wordPolicyUnits": units if snapshot.get("wordPolicy") else 0,
            "sensitiveInformationPolicyUnits": units if sensitive.get("piiEntities") else 0,
            "sensitiveInformationPolicyFreeUnits": units if sensitive.get("regexes") and not sensitive.get("piiEntities") else 0,
            "contextualGroundingPolicyUnits": units if snapshot.get("contextualGroundingPolicy") else 0,
            "contentPolicyImageUnits": 0}


def assess(request: Request, source: str, text: str) -> tuple[dict, bool, str]:
    """(the assessment in ApplyGuardrail's shape, whether it blocks, the text as it may be shown) of
    `text` as `source` (INPUT or OUTPUT); puts the assessment's metrics."""
    snapshot, assessment, shown = request.snapshot, {}, text
    lowered, normalised = text.lower(), None

    def mentions(phrase: str) -> bool:
        nonlocal normalised
        wanted = phrase.lower().split()
        if not wanted or not all(w in lowered for w in wanted):  # a cheap "cannot match" before normalising the text
            return False
        normalised = normalised or _words(text)
        return _words(phrase) in normalised

    topics = [{"name": topic["name"], "type": "DENY", "action": "BLOCKED", "detected": True}
              for topic in (snapshot.get("topicPolicy") or {}).get("topics") or []
              if topic.get("type", "DENY") == "DENY" and any(mentions(p) for p in [*topic.get("examples", []), topic["name"].replace("-", " ")])]
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
    words = []
    for word in (snapshot.get("wordPolicy") or {}).get("words") or []:
        found = word["text"].lower() in lowered and re.search(rf"(?<!\w){re.escape(word['text'])}(?!\w)", text, re.IGNORECASE)
        if found:
            words.append({"match": found.group(0), "action": "BLOCKED", "detected": True})
    if words:
        assessment["wordPolicy"] = {"customWords": words, "managedWordLists": []}
    regexes = []
    for rule in (snapshot.get("sensitiveInformationPolicy") or {}).get("regexes") or []:
        found = re.search(rule["pattern"], text)
        if found:
            anonymize = rule.get("action") == "ANONYMIZE"
            regexes.append({"name": rule["name"], "match": found.group(0), "regex": rule["pattern"],
                            "action": "ANONYMIZED" if anonymize else "BLOCKED", "detected": True})
            if anonymize:
                shown = re.sub(rule["pattern"], "{" + rule["name"] + "}", shown)
    if regexes:
        assessment["sensitiveInformationPolicy"] = {"regexes": regexes, "piiEntities": []}
    # An anonymisation is an intervention too (InvocationsIntervened counts it), but only a block blocks.
    intervened = {name for name, found in (("topicPolicy", topics), ("wordPolicy", words), ("sensitiveInformationPolicy", regexes)) if found}
    blocked = bool(topics or words or any(r["action"] == "BLOCKED" for r in regexes))
    units = max(1, -(-len(text) // 1000))
    latency = 1
    assessment["invocationMetrics"] = {
        "guardrailProcessingLatency": latency, "usage": _usage(snapshot, units),
        "guardrailCoverage": {"textCharacters": {"guarded": len(text), "total": len(text)}},
    }
    _put_metrics(request, source, intervened, assessment["invocationMetrics"]["usage"], latency)
    return assessment, blocked, shown


def trace(request: Request, given: dict | None, answered: dict | None, intervened: bool, model_output: str | None,
          layout: str) -> dict:
    """The guardrail trace of a call, in the Converse layout (GuardrailTraceAssessment: inputAssessment,
    outputAssessments) or the InvokeModel one ("Test your guardrail": input, outputs); `answered` None
    when the prompt was blocked; `model_output` what the model said when its answer was blocked."""
    guardrail_id = request.guardrail["id"]
    if layout == "Converse":
        out = {"inputAssessment": {guardrail_id: given}}
        if answered is not None:
            out["outputAssessments"] = {guardrail_id: [answered]}
    else:
        out = {"input": {guardrail_id: given}}
        if answered is not None:
            out["outputs"] = [{guardrail_id: answered}]
    if model_output is not None:
        out["modelOutput"] = [model_output]
    if intervened:
        out["actionReason"] = BLOCKED_REASON
    return out


def _put_metrics(request: Request, source: str, intervened: set[str], usage: dict, latency: int) -> None:
    """One assessment's data on the documented dimension sets (see the module docstring)."""
    account, region = request.guardrail["arn"].split(":")[4], request.guardrail["arn"].split(":")[3]
    from hubsim.patches.bedrock_runtime import _metric_time  # the runtime's clock (simulated or real), as moto stores it

    now = _metric_time()
    total = sum(v for k, v in usage.items() if k.endswith("Units") and k != "contentPolicyImageUnits")
    data = []
    for dimensions in ([{"Name": "GuardrailArn", "Value": request.guardrail["arn"]},
                        {"Name": "GuardrailVersion", "Value": request.snapshot["version"]}],
                       [{"Name": "GuardrailContentSource", "Value": source.title()}]):
        data += [{"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dimensions, "Timestamp": now}
                 for name, value, unit in (("Invocations", 1, "Count"), ("InvocationsIntervened", int(bool(intervened)), "Count"),
                                           ("TextUnitCount", total, "Count"), ("InvocationLatency", latency, "Milliseconds"))]
    for key, policy_type, units in _POLICIES:
        if request.snapshot.get(key):
            dimensions = [{"Name": "GuardrailPolicyType", "Value": policy_type}]
            policy_units = usage[units] + (usage["sensitiveInformationPolicyFreeUnits"] if key == "sensitiveInformationPolicy" else 0)
            data += [{"MetricName": "TextUnitCount", "Value": float(policy_units), "Unit": "Count", "Dimensions": dimensions, "Timestamp": now},
                     {"MetricName": "InvocationsIntervened", "Value": float(key in intervened), "Unit": "Count",
                      "Dimensions": dimensions, "Timestamp": now}]
    cloudwatch_backends[account][region].put_metric_data(NAMESPACE, data)


def blocked_message(request: Request, source: str) -> str:
    return request.snapshot["blockedInputMessaging" if source == "INPUT" else "blockedOutputsMessaging"]


_previous_list_arns = None


def _list_arns(self) -> list[str]:
    """TagResource/ListTagsForResource accept guardrail ARNs too (after hubsim.patches.bedrock's own)."""
    return _previous_list_arns(self) + [g["arn"] for g in list(_state(self).values())]


def apply() -> None:
    global _previous_list_arns
    if bedrock_models.BedrockBackend._list_arns is not _list_arns:  # hubsim.patches.bedrock sets its own on every apply
        _previous_list_arns = bedrock_models.BedrockBackend._list_arns
        bedrock_models.BedrockBackend._list_arns = _list_arns
    BedrockResponse.create_guardrail = create_guardrail
    BedrockResponse.create_guardrail_version = create_guardrail_version
    BedrockResponse.get_guardrail = get_guardrail
    BedrockResponse.list_guardrails = list_guardrails
    BedrockResponse.delete_guardrail = delete_guardrail
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()  # moto finds models through lru-cached CloudFormationModel.__subclasses__()
    for model in (Guardrail, GuardrailVersion):
        if model.cloudformation_type() not in cfn_parsing.get_model_map():
            raise RuntimeError(f"moto CloudFormation does not see the hubsim model for {model.cloudformation_type()}")
