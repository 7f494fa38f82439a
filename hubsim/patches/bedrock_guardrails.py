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
  GuardrailId, Version (DRAFT), Status, CreatedAt, UpdatedAt) and `AWS::Bedrock::GuardrailVersion`
  (Ref: `<id>|<version>`; GetAtt GuardrailArn, GuardrailId, Version):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrail.html,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrailversion.html.
  Properties are the API's configuration with PascalCase keys (TopicPolicyConfig.TopicsConfig...).
- Runtime (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-use-converse-api.html,
  https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-invoke.html): the prompt is assessed
  before the model (an intervention answers the guardrail's blockedInputMessaging, the model is not
  called: no model tokens, no AWS/Bedrock invocation metrics), the answer after it (an intervention
  answers blockedOutputsMessaging; the model's tokens were spent). Converse then has stopReason
  `guardrail_intervened`; with `trace` enabled, `trace.guardrail.inputAssessment[<id>]` and
  `outputAssessments[<id>]` carry what matched, in the ApplyGuardrail assessment shapes. InvokeModel's
  body carries `amazon-bedrock-guardrailAction` (INTERVENED or NONE) and, traced,
  `amazon-bedrock-trace.guardrail`.
  A documented SUBSET of the policies is applied, deterministically (Bedrock's own filters are ML
  classifiers): custom words and phrases (case-insensitive, whole words); regexes (Python `re`,
  action BLOCK blocks, ANONYMIZE masks the match as `{<name>}` in an answer); denied topics: a topic
  matches when the text contains one of its `examples` or its name (hyphens read as spaces),
  case-insensitively, ignoring punctuation. Content filters, PII entities, managed word lists,
  contextual grounding and automated reasoning are kept in the configuration but never match.
- IAM: the caller needs bedrock:ApplyGuardrail on the guardrail
  (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions.html), and every
  authorisation of the call carries the condition key `bedrock:GuardrailIdentifier` with the value
  `<guardrail ARN>:<version>` as the user guide's examples compare it
  (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions-id.html). A bare id in
  the request is normalised to the ARN (the hub's clients always send the ARN, so a stricter AWS
  reading would not change what they see).
- Metrics (https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-guardrails-cw-metrics.html):
  namespace `AWS/Bedrock/Guardrails`, Invocations, InvocationsIntervened and TextUnitCount (one text
  unit per 1,000 characters) with the dimensions GuardrailArn, GuardrailVersion and
  GuardrailContentSource (Input, Output), one datum per assessment.
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
        return attr in ("GuardrailArn", "GuardrailId", "Version", "Status", "CreatedAt", "UpdatedAt")

    def get_cfn_attribute(self, attribute_name: str):
        draft = self.record["versions"]["DRAFT"]
        return {"GuardrailArn": self.record["arn"], "GuardrailId": self.record["id"], "Version": "DRAFT", "Status": "READY",
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

class Request:
    """The guardrail a runtime call names, resolved: its record, the version's snapshot, whether traced."""

    def __init__(self, guardrail: dict, snapshot: dict, trace: bool):
        self.guardrail, self.snapshot, self.trace = guardrail, snapshot, trace

    @property
    def condition_value(self) -> str:
        """bedrock:GuardrailIdentifier as IAM compares it: the ARN and the version."""
        return f"{self.guardrail['arn']}:{self.snapshot['version']}"


def resolve(account: str, region: str, identifier: str | None, version: str | None, trace: str | None) -> Request | None:
    """The call's guardrail, or None when it names none; ValidationException for a half-given or unknown one."""
    if not identifier and not version:
        return None
    if not identifier or not version:
        raise Validation("The guardrail identifier and version must both be provided.")
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        account, region = parts[4], parts[3]
    try:
        guardrail = find(_backend(account, region), identifier)
        snapshot = version_of(guardrail, version)
    except ResourceNotFound:
        raise Validation("The guardrail identifier or version provided in the request does not exist.") from None
    return Request(guardrail, snapshot, (trace or "disabled").lower() in ("enabled", "enabled_full"))


def _words(text: str) -> str:
    return " " + re.sub(r"[^\w]+", " ", text.lower()).strip() + " "


def assess(request: Request, source: str, text: str) -> tuple[dict, bool, str]:
    """(the assessment in ApplyGuardrail's shape, whether it blocks, the text as it may be shown) of
    `text` as `source` (INPUT or OUTPUT)."""
    snapshot, assessment, blocked, shown = request.snapshot, {}, False, text
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
    blocked = bool(topics or words or any(r["action"] == "BLOCKED" for r in regexes))
    units = max(1, -(-len(text) // 1000))
    assessment["invocationMetrics"] = {
        "guardrailProcessingLatency": 1,
        "usage": {"topicPolicyUnits": units if snapshot.get("topicPolicy") else 0, "contentPolicyUnits": 0,
                  "wordPolicyUnits": units if snapshot.get("wordPolicy") else 0,
                  "sensitiveInformationPolicyUnits": units if snapshot.get("sensitiveInformationPolicy") else 0,
                  "sensitiveInformationPolicyFreeUnits": 0, "contextualGroundingPolicyUnits": 0},
        "guardrailCoverage": {"textCharacters": {"guarded": len(text), "total": len(text)}},
    }
    _put_metrics(request, source, blocked, units)
    return assessment, blocked, shown


def _put_metrics(request: Request, source: str, intervened: bool, units: int) -> None:
    account, region = request.guardrail["arn"].split(":")[4], request.guardrail["arn"].split(":")[3]
    dimensions = [{"Name": "GuardrailArn", "Value": request.guardrail["arn"]},
                  {"Name": "GuardrailVersion", "Value": request.snapshot["version"]},
                  {"Name": "GuardrailContentSource", "Value": source.title()}]
    from hubsim.patches.bedrock_runtime import _metric_time  # the runtime's clock (simulated or real), as moto stores it

    now = _metric_time()
    cloudwatch_backends[account][region].put_metric_data(NAMESPACE, [
        {"MetricName": name, "Value": float(value), "Unit": "Count", "Dimensions": dimensions, "Timestamp": now}
        for name, value in (("Invocations", 1), ("InvocationsIntervened", int(intervened)), ("TextUnitCount", units))])


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
