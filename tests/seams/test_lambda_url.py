"""Lambda function URLs with AuthType AWS_IAM (hubsim.patches.lambda_url), over HTTP as on AWS.

A function, its AWS::Lambda::Url and the two AWS::Lambda::Permission statements a function URL needs
since October 2025 are deployed with CloudFormation into the hub account; moto's server (what
`hubctl local up` runs) listens on a free port; callers sign with botocore's SigV4 for the function
URL's host and send to the server with that Host header, as a client with --endpoint-url does.
https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
"""
import io
import json
import socket
import textwrap
import urllib.error
import urllib.request
import warnings
import zipfile

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from hubsim import patches, runtime

REGION = "us-east-1"
HUB_ACCOUNT = "123456789012"
TENANT_ACCOUNT = "222222222222"

HANDLER = textwrap.dedent('''
    import json

    def handler(event, context):
        path = event["rawPath"]
        if path == "/raise":
            raise RuntimeError("boom")
        if path == "/throttle":
            return {"statusCode": 429, "headers": {"Retry-After": "7"}, "body": "slow down"}
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps({"event": event})}
''')


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def _template(bucket: str, key: str) -> dict:
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Function": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "app.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": bucket, "S3Key": key}}},
            "Url": {"Type": "AWS::Lambda::Url", "Properties": {
                "TargetFunctionArn": {"Fn::GetAtt": ["Function", "Arn"]}, "AuthType": "AWS_IAM"}},
            "UrlPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Ref": "Function"}, "Action": "lambda:InvokeFunctionUrl", "Principal": "*",
                "FunctionUrlAuthType": "AWS_IAM"}},
            "InvokePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Ref": "Function"}, "Action": "lambda:InvokeFunction", "Principal": "*",
                "InvokedViaFunctionUrl": True}},
        },
        "Outputs": {
            "FunctionUrl": {"Value": {"Fn::GetAtt": ["Url", "FunctionUrl"]}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Url", "FunctionArn"]}},
            "FunctionName": {"Value": {"Ref": "Function"}},
        },
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hub():
    """moto with the hubsim patches (as LocalHub.start), the stack deployed, moto's server running."""
    from moto.server import ThreadedMotoServer

    warnings.filterwarnings("ignore", message="Tried to parse")
    runtime.install()
    mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
    mock.start()
    patches.apply_all()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    try:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="code")
        s3.put_object(Bucket="code", Key="app.zip", Body=_code_zip())
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="url-demo", TemplateBody=json.dumps(_template("code", "app.zip")))
        stack = cfn.describe_stacks(StackName="url-demo")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        host, port = server.get_host_and_port()
        yield {"endpoint": f"http://{host}:{port}", **{o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}}
    finally:
        server.stop()
        mock.stop()


def _session(credentials: dict) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=REGION)


def _tenant_caller(function_arn: str, *, allowed: bool, name: str = "tenant-app") -> tuple[Credentials, str]:
    """A role session in the tenant account (moto switches account on AssumeRole), with or without an
    identity policy allowing both function URL actions on the function."""
    from hubsim.principals import ACCOUNT_ADMIN_ROLE

    admin = _session(boto3.client("sts", region_name=REGION).assume_role(  # the tenant account's root
        RoleArn=f"arn:aws:iam::{TENANT_ACCOUNT}:role/{ACCOUNT_ADMIN_ROLE}", RoleSessionName="setup")["Credentials"])
    iam = admin.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{TENANT_ACCOUNT}:root"}}]}
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if allowed:
        iam.put_role_policy(RoleName=name, PolicyName="invoke-hub-url", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"], "Resource": function_arn}]}))
    credentials = admin.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="app")["Credentials"]
    return Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]), role_arn


def _signed(url: str, credentials: Credentials | None, method: str = "POST", path: str = "/", body: bytes = b"") -> tuple[str, dict]:
    """(host, headers) of a request to the function URL, SigV4-signed for service lambda when given credentials."""
    host = url.split("://", 1)[1].rstrip("/")
    request = AWSRequest(method=method, url=f"https://{host}{path}", data=body, headers={"content-type": "application/json"})
    if credentials is not None:
        SigV4Auth(credentials, "lambda", REGION).add_auth(request)
    return host, dict(request.headers.items())


def _send(endpoint: str, host: str, headers: dict, method: str = "POST", path: str = "/", body: bytes = b"") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"{endpoint}{path}", data=body or None, method=method, headers={**headers, "Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_cloudformation_creates_the_url_and_the_permissions_with_their_conditions(hub):
    # Given the stack deployed from the template

    # When the function's URL config and resource policy are read back
    lam = boto3.client("lambda", region_name=REGION)
    config = lam.get_function_url_config(FunctionName=hub["FunctionName"])
    statements = json.loads(lam.get_policy(FunctionName=hub["FunctionName"])["Policy"])["Statement"]

    # Then the URL is the stack's output, and each statement carries its condition as GetPolicy shows it
    assert config["FunctionUrl"] == hub["FunctionUrl"] and config["AuthType"] == "AWS_IAM"
    assert hub["FunctionArn"] == config["FunctionArn"]
    conditions = {s["Action"]: s.get("Condition") for s in statements}
    assert conditions == {
        "lambda:InvokeFunctionUrl": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        "lambda:InvokeFunction": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
    }
    assert all(s["Sid"].startswith("url-demo-") and "FunctionName" not in s for s in statements)


def test_a_caller_in_another_account_allowed_by_both_policies_invokes_and_is_seen_verified(hub):
    # Given a role session in the tenant account whose identity policy allows both actions
    credentials, role_arn = _tenant_caller(hub["FunctionArn"], allowed=True)
    body = json.dumps({"prompt": "hello"}).encode()
    host, headers = _signed(hub["FunctionUrl"], credentials, path="/chat", body=body)

    # When it calls the function URL (a forged identity header rides along)
    status, _, data = _send(hub["endpoint"], host, {**headers, "x-amzn-user-arn": "arn:aws:iam::999999999999:root"}, path="/chat", body=body)

    # Then the function ran, seeing the caller as Lambda verified it, and the hub account as owner
    assert status == 200, data
    event = json.loads(data)["event"]
    assert event["version"] == "2.0" and event["rawPath"] == "/chat" and event["body"] == body.decode()
    context = event["requestContext"]
    assert context["accountId"] == HUB_ACCOUNT and context["domainName"] == host and context["http"]["method"] == "POST"
    iam = context["authorizer"]["iam"]
    assert iam["userArn"] == f"arn:aws:sts::{TENANT_ACCOUNT}:assumed-role/tenant-app/app"
    assert iam["accountId"] == TENANT_ACCOUNT and iam["accessKey"] == credentials.access_key
    assert iam["userId"].startswith("AROA") and iam["userId"].endswith(":app")
    assert role_arn.endswith(":role/tenant-app")


def test_a_caller_in_another_account_without_an_identity_policy_is_forbidden(hub):
    # Given a tenant role session with no policy of its own (the function's policy names "*")
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=False, name="tenant-bare")
    host, headers = _signed(hub["FunctionUrl"], credentials)

    # When it calls the function URL
    status, response_headers, data = _send(hub["endpoint"], host, headers)

    # Then Lambda refuses it before running the function
    assert (status, json.loads(data)) == (403, {"Message": "Forbidden"})
    assert response_headers["x-amzn-errortype"] == "AccessDeniedException"


def test_a_body_changed_after_signing_is_forbidden(hub):
    # Given a request signed for one body
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=True)
    host, headers = _signed(hub["FunctionUrl"], credentials, body=b'{"amount": 1}')

    # When another body is sent with that signature
    status, _, data = _send(hub["endpoint"], host, headers, body=b'{"amount": 1000}')

    # Then the signature does not match
    assert (status, json.loads(data)) == (403, {"Message": "Forbidden"})


def test_an_unsigned_request_is_forbidden(hub):
    # Given a request without an Authorization header
    host, headers = _signed(hub["FunctionUrl"], None)

    # When it is sent
    status, _, data = _send(hub["endpoint"], host, headers)

    # Then AWS_IAM refuses it
    assert (status, json.loads(data)) == (403, {"Message": "Forbidden"})


def test_an_identity_allowed_caller_is_forbidden_once_the_function_policy_no_longer_names_it(hub):
    # Given a tenant caller whose identity policy allows, and the function's statements removed
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=True)
    lam = boto3.client("lambda", region_name=REGION)
    for statement in json.loads(lam.get_policy(FunctionName=hub["FunctionName"])["Policy"])["Statement"]:
        lam.remove_permission(FunctionName=hub["FunctionName"], StatementId=statement["Sid"])
    host, headers = _signed(hub["FunctionUrl"], credentials)

    # When it calls the function URL
    status, _, data = _send(hub["endpoint"], host, headers)

    # Then a cross-account call needs the resource policy too
    assert (status, json.loads(data)) == (403, {"Message": "Forbidden"})


def test_an_unknown_url_id_is_not_found(hub):
    # Given a signed request to a function URL host that no function has
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=True)
    host, headers = _signed(f"https://{'0' * 32}.lambda-url.{REGION}.on.aws/", credentials)

    # When it is sent
    status, _, _ = _send(hub["endpoint"], host, headers)

    # Then
    assert status == 404


def test_a_function_error_is_a_bad_gateway(hub):
    # Given an allowed caller and a path on which the handler raises
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=True)
    host, headers = _signed(hub["FunctionUrl"], credentials, method="GET", path="/raise")

    # When it calls the function URL
    status, _, data = _send(hub["endpoint"], host, headers, method="GET", path="/raise")

    # Then
    assert (status, json.loads(data)) == (502, {"Message": "Internal Server Error"})


def test_a_response_with_a_status_code_passes_through(hub):
    # Given an allowed caller and a path on which the handler answers 429 with a header and a body
    credentials, _ = _tenant_caller(hub["FunctionArn"], allowed=True)
    host, headers = _signed(hub["FunctionUrl"], credentials, method="GET", path="/throttle")

    # When it calls the function URL
    status, response_headers, data = _send(hub["endpoint"], host, headers, method="GET", path="/throttle")

    # Then the HTTP response is the one the function returned
    assert (status, data) == (429, b"slow down")
    assert response_headers["retry-after"] == "7"
