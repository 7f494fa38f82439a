"""Lambda function URLs: AWS::Lambda::Url, their resource-policy statements, and the HTTP door.

moto stores a function URL (`LambdaBackend.create_function_url_config`: "Function URLs are not yet
mocked, so invoking them will fail") and nothing answers its host. This patch follows
https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html (auth types, the resource policy,
cross-account rules), https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html (SigV4,
payload format 2.0, how a result becomes the HTTP response) and the CloudFormation reference pages
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-url.html and
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html:

1. `AWS::Lambda::Url` has no moto CloudFormation model ("No Moto CloudFormation support": skipped,
   the stack still completes). `FunctionUrl` creates it through the Lambda backend's
   create_function_url_config; Fn::GetAtt FunctionUrl / FunctionArn, Ref the function ARN; delete
   removes it.
2. `moto.awslambda.policy.Policy.decode_policy` (AddPermission and AWS::Lambda::Permission) keeps
   `FunctionUrlAuthType` and `InvokedViaFunctionUrl` as top-level statement keys (and, from
   CloudFormation, `FunctionName`), so no policy condition ever sees them. The replacement turns them
   into the conditions GetPolicy shows on AWS: `StringEquals lambda:FunctionUrlAuthType` and
   `Bool lambda:InvokedViaFunctionUrl "true"`. `moto.awslambda.models.Permission` from
   CloudFormation gets its physical name as Sid (moto drew a random one).
3. `handle(...)` answers a request to a function URL host as Lambda does. AWS_IAM: the SigV4
   signature (service lambda, the function's Region, X-Amz-Date within 15 minutes, a signed payload)
   is recomputed with botocore from the key's secret (an IAM user's key, an assumed-role session
   whose X-Amz-Security-Token must match, or moto's default long-term keys, which act as the hub
   account's root); then, since October 2025, both `lambda:InvokeFunctionUrl` and
   `lambda:InvokeFunction` (context lambda:InvokedViaFunctionUrl=true, lambda:FunctionUrlAuthType)
   must be allowed by hubsim.iam_policy over the caller's identity policies and the function's
   resource policy (both, for a caller in another account). NONE: the resource policy must allow
   "*". Anything refused is 403 {"Message":"Forbidden"}; an unknown host 404; a function error 502.
4. `moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__` (the server of
   `hubctl local up`) hands requests whose Host is `<url-id>.lambda-url.<region>.on.aws` to
   `handle`; a client sends to the server's endpoint with that Host header and signs for that host.

Not emulated: CORS preflight and headers, InvokeMode RESPONSE_STREAM (answered buffered), presigned
(query-string) and SigV4A signatures, temporary keys of GetSessionToken/GetFederationToken, payload
and header size limits, throttling, and the function's timeout.
"""
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.policy import Policy
from moto.cloudformation import parsing as cfn_parsing
from moto.core.common_models import CloudFormationModel
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from werkzeug.wrappers import Response

from hubsim import iam_policy, principals
from hubsim.patches import Patch

PATCH = Patch(
    name="lambda-function-urls",
    replaces="AWS::Lambda::Url in moto.cloudformation.parsing (no model), moto.awslambda.policy.Policy.decode_policy "
             "(drops FunctionUrlAuthType / InvokedViaFunctionUrl as conditions), "
             "moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__ (no function URL endpoint)",
    covered_by="tests/seams/test_lambda_url.py::test_cloudformation_creates_the_url_and_the_permissions_with_their_conditions, "
               "tests/seams/test_lambda_url.py::test_a_caller_in_another_account_allowed_by_both_policies_invokes_and_is_seen_verified",
)

URL_HOST = re.compile(r"^[a-z0-9]{32}\.lambda-url\.[a-z0-9-]+\.on\.aws$")
_AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,"
                            r"\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})")
MAX_SKEW = timedelta(minutes=15)  # SigV4: a request dated further from now is refused
# Bodies Lambda passes as text; every other body arrives base64-encoded (isBase64Encoded).
_TEXT = re.compile(r"^(text/.*|application/([\w.+-]*\+)?(json|xml)|application/javascript)(;.*)?$", re.I)
_originals: dict = {}


# --- 1. AWS::Lambda::Url ------------------------------------------------------------------------
class FunctionUrl(CloudFormationModel):
    """AWS::Lambda::Url: CreateFunctionUrlConfig on TargetFunctionArn in the stack's account."""

    def __init__(self, account_id: str, region_name: str, target: str, config):
        self.account_id, self.region_name, self.target, self.config = account_id, region_name, target, config

    @property
    def physical_resource_id(self) -> str:
        qualifier = self.config.config.get("Qualifier")
        return self.config.function.function_arn + (f":{qualifier}" if qualifier else "")

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Url"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("FunctionUrl", "FunctionArn")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "FunctionUrl":
            return self.config.url
        if attribute_name == "FunctionArn":
            return self.physical_resource_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        config = {k: properties[k] for k in ("AuthType", "Cors", "InvokeMode", "Qualifier") if k in properties}
        created = _backend(account_id, region_name).create_function_url_config(properties["TargetFunctionArn"], config)
        return cls(account_id, region_name, properties["TargetFunctionArn"], created)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(account_id, region_name, cloudformation_json["Properties"]["TargetFunctionArn"], None).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            _backend(self.account_id, self.region_name).delete_function_url_config(self.target)
        except UnknownFunctionException:
            pass  # the function went first: its URL went with it

    def is_created(self) -> bool:
        return True


def _backend(account_id: str, region_name: str):
    return lambda_models.lambda_backends[account_id][region_name]


# --- 2. the resource policy's function URL conditions ------------------------------------------
def decode_policy(self, obj: dict):
    url_auth_type = obj.pop("FunctionUrlAuthType", None)
    via_url = obj.pop("InvokedViaFunctionUrl", None)
    obj.pop("FunctionName", None)  # CloudFormation hands over its properties whole; not a statement key
    policy = _originals["decode_policy"](self, obj)
    conditions = {}
    if url_auth_type:
        conditions["StringEquals"] = {"lambda:FunctionUrlAuthType": url_auth_type}
    if str(via_url).lower() == "true":  # a template may give the boolean as a string
        conditions["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    if conditions and policy.statements:
        merged = policy.statements[0].setdefault("Condition", {})
        for operator, pairs in conditions.items():
            merged.setdefault(operator, {}).update(pairs)
    return policy


def permission_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = {"StatementId": resource_name, **cloudformation_json["Properties"]}
    return _originals["permission_create"].__func__(cls, resource_name, {**cloudformation_json, "Properties": properties},
                                                    account_id, region_name, **kwargs)


# --- 3. the function URL endpoint ---------------------------------------------------------------
Caller = principals.Principal


def _caller(access_key: str, token: str | None) -> tuple[Caller, str] | None:
    """(the caller, its secret key) for an access key, or None: unknown, inactive, expired, or a
    session token that is missing, wrong or given with a long-term key (hubsim.principals)."""
    return principals.resolve(access_key, token)


class _Verifier(SigV4Auth):
    """SigV4 over exactly the headers the client says it signed (botocore would drop some)."""

    def __init__(self, credentials, region: str, signed: list[str]):
        super().__init__(credentials, "lambda", region)
        self._signed = signed

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name in self._signed:
            headers[name] = request.headers.get(name, "")
        return headers


def _verify(method, host, path, query, headers, body, region) -> Caller | None:
    """The caller, if the request carries a valid SigV4 signature for lambda in `region`."""
    found = _AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
    if found is None:
        return None
    access_key, day, scope_region, service, signed, signature = found.groups()
    stamp = headers.get("x-amz-date", "")
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    signed_names = signed.split(";")
    if (service != "lambda" or scope_region != region or not stamp.startswith(day) or "host" not in signed_names
            or abs(datetime.now(timezone.utc) - moment) > MAX_SKEW):
        return None
    # Lambda does not take unsigned payloads: a declared body hash must be the body's own.
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
        return None
    token = headers.get("x-amz-security-token")
    resolved = _caller(access_key, token)
    if resolved is None:
        return None
    caller, secret = resolved
    request = AWSRequest(method=method, url=f"https://{host}{path}" + (f"?{query}" if query else ""), data=body,
                         headers={name: headers[name] for name in signed_names if name in headers})
    request.context["timestamp"] = stamp
    auth = _Verifier(Credentials(access_key, secret, token), region, signed_names)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return caller if hmac.compare_digest(expected, signature) else None


def _find(host: str):
    """(backend, function, url config) of the function URL served at `host`, across accounts and Regions."""
    url = f"https://{host}"
    for regions in list(lambda_models.lambda_backends.values()):
        for backend in list(regions.values()):
            for group in list(backend._lambdas._functions.values()):
                config = group["latest"].url_config
                if config is not None and config.url.rstrip("/") == url:
                    return backend, group["latest"], config
    return None


def _allowed(caller: Caller, function_arn: str, function_account: str, resource_policy, auth_type: str, source_ip: str) -> bool:
    """Both actions a function URL invocation needs (urls-auth: since October 2025)."""
    context = {"lambda:FunctionUrlAuthType": auth_type, "lambda:InvokedViaFunctionUrl": "true",
               "aws:SourceIp": source_ip, "aws:SecureTransport": "true", "aws:userid": caller.user_id,
               **{f"aws:PrincipalTag/{k}": v for k, v in caller.tags}}
    for action in ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"):
        request = iam_policy.Request(action=action, resource=function_arn, principal_arn=caller.arn,
                                     principal_account=caller.account, resource_account=function_account,
                                     context=context, role_arn=caller.role_arn)
        if not iam_policy.evaluate(request, list(caller.identity_policies), list(caller.session_policies),
                                   resource_policy, caller.boundary).allowed:
            return False
    return True


def _public_statements(policy: dict | None) -> dict | None:
    """The statements of a resource policy that name everyone: the only ones an unsigned caller matches."""
    if policy is None:
        return None
    def public(principal):
        named = principal.get("AWS", []) if isinstance(principal, dict) else principal
        return "*" in (named if isinstance(named, list) else [named])
    return {**policy, "Statement": [s for s in policy["Statement"] if public(s.get("Principal"))]}


def _event(function, method, host, path, query, headers, body, caller, source_ip, request_id) -> dict:
    """The request as payload format version 2.0 (urls-invocation, "Request payload format")."""
    now = time.time()
    headers = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    headers.update({"x-forwarded-for": source_ip, "x-forwarded-proto": "https", "x-forwarded-port": "443",
                    "x-amzn-trace-id": headers.get("x-amzn-trace-id") or f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"})
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    url_id = host.split(".", 1)[0]
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": headers,
        "requestContext": {
            "accountId": function.account_id, "apiId": url_id, "authentication": None,
            "authorizer": None if caller is None else {"iam": {
                "accessKey": caller.access_key, "accountId": caller.account, "callerId": caller.user_id,
                "cognitoIdentity": None, "principalOrgId": None, "userArn": caller.arn, "userId": caller.user_id}},
            "domainName": host, "domainPrefix": url_id,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if body:
        try:
            text = body.decode() if _TEXT.match(headers.get("content-type", "")) else None
        except UnicodeDecodeError:
            text = None
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    return event


def _result(payload: bytes) -> tuple[int, dict, bytes] | None:
    """The function's result as the HTTP response (urls-invocation, "Response payload format"), None
    for a result Lambda cannot map (a 502)."""
    try:
        result = json.loads(payload or b"null")
    except ValueError:
        return None
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, {"content-type": "application/json"}, payload  # any other JSON value is the body
    try:
        status = int(result["statusCode"])
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body")
        body = "" if body is None else body if isinstance(body, str) else json.dumps(body)
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    except (TypeError, ValueError):
        return None
    headers.setdefault("content-type", "application/json")
    if result.get("cookies"):
        headers["set-cookie"] = [str(c) for c in result["cookies"]]  # one header each (see __call__)
    return status, headers, data


def _message(status: int, message: str, request_id: str, error_type: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"content-type": "application/json", "x-amzn-requestid": request_id}
    if error_type:
        headers["x-amzn-errortype"] = error_type
    return status, headers, json.dumps({"Message": message}).encode()


def handle(method: str, host: str, path: str, query_string: str, headers: dict, body: bytes,
           source_ip: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    """Answer one HTTP request to the function URL at `host` as Lambda does: (status, headers, body).
    A header value that is a list (set-cookie) is sent as one header per item."""
    headers = {k.lower(): v for k, v in headers.items()}
    request_id = str(uuid.uuid4())
    found = _find(host.lower())
    if found is None:
        return _message(404, "Not Found", request_id)
    backend, function, config = found
    qualifier = config.config.get("Qualifier")
    function_arn = function.function_arn + (f":{qualifier}" if qualifier else "")
    try:
        resource_policy = function.policy.get_policy()["Policy"]
    except Exception:  # GenericResourcNotFound: no statement at all
        resource_policy = None
    auth_type = config.config.get("AuthType") or "AWS_IAM"
    if auth_type == "AWS_IAM":
        caller = _verify(method, host, path, query_string, headers, body, function.region)
        if caller is None or not _allowed(caller, function_arn, function.account_id, resource_policy, auth_type, source_ip):
            return _message(403, "Forbidden", request_id, "AccessDeniedException")
    else:  # NONE: no authentication, but the resource policy must still grant everyone
        anonymous = Caller("", function.account_id, "anonymous", "anonymous")
        if not _allowed(anonymous, function_arn, function.account_id, _public_statements(resource_policy), auth_type, source_ip):
            return _message(403, "Forbidden", request_id, "AccessDeniedException")
        caller = None
    event = _event(function, method, host, path, query_string, headers, body, caller, source_ip, request_id)
    response_headers: dict = {}
    payload = backend.invoke(function.function_name, qualifier, json.dumps(event), {}, response_headers)
    mapped = None if "x-amz-function-error" in response_headers else _result(payload)
    if mapped is None:
        return _message(502, "Internal Server Error", request_id)
    status, out_headers, data = mapped
    return status, {**out_headers, "x-amzn-requestid": request_id}, data


# --- 4. the server's routing --------------------------------------------------------------------
def dispatcher_call(self, environ: dict, start_response):
    host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
    if not URL_HOST.match(host):
        return _originals["__call__"](self, environ, start_response)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    body = stream.read(length) if length else stream.read() if environ.get("wsgi.input_terminated") else b""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    headers.update({k.replace("_", "-").lower(): environ[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)})
    # The path as the client sent (and signed) it, still percent-encoded; PATH_INFO is decoded.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else quote(environ.get("PATH_INFO", "/"))
    status, out_headers, data = handle(environ["REQUEST_METHOD"], host, path or "/", environ.get("QUERY_STRING", ""),
                                       headers, body, environ.get("REMOTE_ADDR") or "127.0.0.1")
    pairs = [(k, item) for k, v in out_headers.items() for item in (v if isinstance(v, list) else [v])]
    return Response(data, status=status, headers=pairs)(environ, start_response)


def apply() -> None:
    if _originals:
        return
    _originals["decode_policy"] = Policy.decode_policy
    _originals["permission_create"] = lambda_models.Permission.__dict__["create_from_cloudformation_json"]
    _originals["__call__"] = DomainDispatcherApplication.__call__
    Policy.decode_policy = decode_policy
    lambda_models.Permission.create_from_cloudformation_json = classmethod(permission_create)
    DomainDispatcherApplication.__call__ = dispatcher_call
    # moto finds CloudFormation models through lru-cached CloudFormationModel.__subclasses__().
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()
    if FunctionUrl.cloudformation_type() not in cfn_parsing.get_model_map():
        raise RuntimeError("moto CloudFormation does not see the hubsim model for AWS::Lambda::Url")


def revert() -> None:
    """Put moto's methods back (AWS::Lambda::Url stays registered: a subclass cannot be unregistered)."""
    if not _originals:
        return
    Policy.decode_policy = _originals.pop("decode_policy")
    lambda_models.Permission.create_from_cloudformation_json = _originals.pop("permission_create")
    DomainDispatcherApplication.__call__ = _originals.pop("__call__")
