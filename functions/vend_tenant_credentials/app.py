"""The tenant credential broker, behind an IAM-authorised Lambda function URL.

`GET /tenants/<tenant_id>/credentials`, signed with SigV4 by a principal of the tenant's account.
Lambda authenticates the caller before this runs and puts the verified identity in
`requestContext.authorizer.iam` (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html);
nothing the caller writes in the request is trusted as its identity. The answer is the AWS CLI's
`credential_process` document (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html)
plus the tenant's models; refusals are 403 with the rule that refused, and every answer is audited.
"""
import json
import re

from genai_hub import access, audit
from genai_hub.errors import HubError
from genai_hub.observability import logger, tracer

_PATH = re.compile(r"^/tenants/(?P<tenant>[a-z][a-z0-9-]{2,38}[a-z0-9])/credentials/?$")
WORKFLOW = "tenant-access"


def _answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body)}


def _audit(stream: str, caller: dict, request_id: str, outcome: str, **detail) -> None:
    audit.append(stream, action="VendCredentials", outcome=outcome, workflow=WORKFLOW,
                 execution=request_id, actor=caller.get("userArn", "unknown")[:256], detail=detail)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    context_ = event.get("requestContext") or {}
    caller = (context_.get("authorizer") or {}).get("iam") or {}
    request_id = context_.get("requestId", "")
    if not caller.get("userArn"):  # AuthType is AWS_IAM: Lambda never lets an unsigned request through
        return _answer(401, {"error": "NotAuthenticated", "message": "sign the request with SigV4 (service lambda)"})
    path = event.get("rawPath", "")
    found = _PATH.match(path)
    if not found or (context_.get("http") or {}).get("method", "GET") != "GET":
        return _answer(400, {"error": "BadRequest", "message": f"expected GET /tenants/<tenant_id>/credentials, got {path!r}"})
    tenant_id = found["tenant"]
    try:
        credentials = access.vend(tenant_id, caller)
    except HubError as refused:
        logger.info("credentials refused", extra={"tenant_id": tenant_id, "caller": caller.get("userArn"), "error": type(refused).__name__})
        # A stranger's guess goes to the rejections stream, not into the tenant's history.
        stream = f"rejected#{WORKFLOW}" if isinstance(refused, access.AccessNotGranted) else audit.tenant_stream(tenant_id)
        _audit(stream, caller, request_id, "REFUSED", tenant_id=tenant_id, error=type(refused).__name__, reason=str(refused))
        return _answer(403, {"error": type(refused).__name__, "message": str(refused)})
    _audit(audit.tenant_stream(tenant_id), caller, request_id, "SUCCEEDED", expires=credentials["Expiration"],
           models=sorted(credentials["profiles"]), imported_models=sorted(credentials["imported_models"]))
    logger.info("credentials vended", extra={"tenant_id": tenant_id, "caller": caller.get("userArn")})
    return _answer(200, credentials)
