"""The hub's decision door: approve, reject, cancel a retirement, as the caller AWS verified.

`POST /decisions` with a JSON body {"action": "approve" | "reject" | "cancel-retirement", ...}, signed
with SigV4 (service lambda) by a role or user of the hub account. The function URL's AuthType is
AWS_IAM: Lambda authenticates the caller before this runs and passes it in
`requestContext.authorizer.iam` (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
genai_hub.decisions checks the decision policy and four-eyes, answers the waiting workflow's task
token (this function's role is the only one allowed states:SendTaskSuccess / SendTaskFailure) and
audits the decision or the refusal with the verified ARN. Answers: 200 done, 400 bad request (the
field), 403 refused (the rule), 404 unknown version or retirement, 409 nothing waiting.
"""
import json

from genai_hub import decisions
from genai_hub.errors import InvalidInput
from genai_hub.observability import logger, tracer

_STATUS = {decisions.DecisionRefused: 403, decisions.UnknownSubject: 404, decisions.NothingToDecide: 409, InvalidInput: 400}


def _answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body)}


def _request(event: dict) -> dict:
    if (event.get("requestContext") or {}).get("http", {}).get("method") != "POST" or event.get("rawPath", "").rstrip("/") != "/decisions":
        raise InvalidInput(f"expected POST /decisions, got {event.get('rawPath')!r}", field="$")
    if event.get("isBase64Encoded"):
        raise InvalidInput("the body must be JSON (content-type application/json)", field="$")
    try:
        request = json.loads(event.get("body") or "")
    except ValueError:
        raise InvalidInput("the body is not JSON: expected {\"action\": ..., ...}", field="$") from None
    if not isinstance(request, dict):
        raise InvalidInput("the body must be a JSON object", field="$")
    return request


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    request_context = event.get("requestContext") or {}
    request_id, iam_context = request_context.get("requestId", ""), (request_context.get("authorizer") or {}).get("iam") or {}
    request = None
    try:
        request = _request(event)
        caller = decisions.caller_of(iam_context, decisions.hub_account_of(request_context))
        result = decisions.decide(request.get("action"), request, caller, request_id)
    except tuple(_STATUS) as refused:
        decisions.record_unanswered(iam_context, request_id, request, refused)
        body = {"error": type(refused).__name__, "message": str(refused)}
        if isinstance(refused, decisions.DecisionRefused):
            body["rule"] = refused.rule
        if isinstance(refused, InvalidInput):
            body["field"] = refused.field
        logger.info("decision not taken", extra={"error": body["error"], "rule": body.get("rule")})
        return _answer(_STATUS[type(refused)], body)
    logger.info("decision taken", extra={"decision": result["decision"], "acted_as": result["acted_as"]})
    return _answer(200, result)
