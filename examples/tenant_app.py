#!/usr/bin/env python3
"""A GenAI Hub tenant's application: get hub credentials from the broker, call your models.

Runs unchanged against AWS and against `hubctl local up` (add `--endpoint-url http://127.0.0.1:4566`).
Needs only boto3. Your own AWS identity (a principal of your account, e.g. the role of
spokes/tenant.yaml) signs a request to the hub's credential broker, an IAM-authorised Lambda function
URL; the hub answers with short-lived credentials of its tenant-access role, scoped to your models.

    # credentials for the AWS CLI (~/.aws/config: credential_process = python examples/tenant_app.py credentials ...)
    python examples/tenant_app.py credentials --url "$URL" --tenant acme-retail
    # the guardrail every call must carry (AWS CLI: bedrock-runtime converse --guardrail-config "$(...)")
    python examples/tenant_app.py guardrail --url "$URL" --tenant acme-retail
    # ask a model granted to you (a foundation model through your profile, or an imported model)
    python examples/tenant_app.py ask --url "$URL" --tenant acme-retail --model amazon.nova-pro-v1:0 "Hello"

In your own code, `vended_session(url, tenant_id)` is a boto3 Session whose credentials refresh on
their own before they expire (RefreshableCredentials); `converse_with_retry` gets new credentials once
when the hub has revoked the old ones (after a suspension is lifted, a grant or the guardrail changed).

Every call must carry your tenant's guardrail (the broker names it: `Guardrail`); the hub's IAM
refuses a call without it. Clients of a `vended_session` add it to Converse, ConverseStream,
InvokeModel and InvokeModelWithResponseStream calls that name none. With credentials from elsewhere
(credential_process), pass `guardrail_config(...)` as Converse's `guardrailConfig`, or its two values
as InvokeModel's `guardrailIdentifier` and `guardrailVersion`. When the guardrail intervenes, Converse
answers with stopReason `guardrail_intervened` and the guardrail's message.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError
from botocore.session import get_session


GUARDRAILED_OPERATIONS = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")


class AccessRefused(Exception):
    """The broker refused: `error` names the rule (AccessNotGranted, TenantSuspended, TenantNotActive...)."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(f"{error}: {message} (HTTP {status})")
        self.status, self.error, self.message = status, error, message


def _region_of(url: str, default: str) -> str:
    """A function URL is https://<id>.lambda-url.<region>.on.aws/."""
    labels = (urlsplit(url).hostname or "").split(".")
    return labels[2] if len(labels) > 3 and labels[1] == "lambda-url" else default


def fetch_credentials(url: str, tenant_id: str, session: boto3.session.Session | None = None,
                      endpoint_url: str | None = None) -> dict:
    """The broker's answer for `tenant_id`, signed with `session`'s credentials (SigV4, service lambda).
    `endpoint_url` sends the request there instead (a local emulation), signed for the URL's host."""
    session = session or boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise AccessRefused(401, "NoCredentials", "no AWS credentials to sign the request with (aws configure, or a role)")
    target = f"{url.rstrip('/')}/tenants/{tenant_id}/credentials"
    parts = urlsplit(target)
    request = AWSRequest(method="GET", url=target, headers={"Host": parts.netloc})
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", _region_of(url, session.region_name or "us-east-1")).add_auth(request)
    send_to = f"{endpoint_url.rstrip('/')}{parts.path}" if endpoint_url else target
    try:
        with urllib.request.urlopen(urllib.request.Request(send_to, headers=dict(request.headers.items()), method="GET"), timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        try:
            body = json.loads(refused.read() or b"{}")
        except ValueError:
            body = {}
        raise AccessRefused(refused.code, body.get("error", "Forbidden"), body.get("message", body.get("Message", refused.reason))) from None


def vended_session(url: str, tenant_id: str, session: boto3.session.Session | None = None,
                   endpoint_url: str | None = None) -> boto3.session.Session:
    """A boto3 Session with the tenant's hub credentials, refreshed from the broker before they expire."""
    last = {}

    def refresh() -> dict:
        document = fetch_credentials(url, tenant_id, session, endpoint_url)
        last.update(document)
        return {"access_key": document["AccessKeyId"], "secret_key": document["SecretAccessKey"],
                "token": document["SessionToken"], "expiry_time": document["Expiration"]}

    def carry_guardrail(params: dict, model, **kwargs) -> None:
        """botocore's provide-client-params hook: the tenant's guardrail on every model call naming none."""
        if last.get("Guardrail") and model.name in GUARDRAILED_OPERATIONS:
            config = guardrail_config(last)
            if model.name.startswith("Converse"):
                params.setdefault("guardrailConfig", config)
            else:
                params.setdefault("guardrailIdentifier", config["guardrailIdentifier"])
                params.setdefault("guardrailVersion", config["guardrailVersion"])

    credentials = RefreshableCredentials.create_from_metadata(metadata=refresh(), refresh_using=refresh, method="genai-hub-broker")
    # The broker vends 15-minute sessions: refresh 2 minutes before the end, not botocore's 15.
    credentials._advisory_refresh_timeout, credentials._mandatory_refresh_timeout = 120, 60
    botocore_session = get_session()
    botocore_session._credentials = credentials
    botocore_session.register("provide-client-params.bedrock-runtime", carry_guardrail)
    vended = boto3.session.Session(botocore_session=botocore_session, region_name=last.get("Region"))
    vended.hub_models = last  # the tenant's models as the broker last named them
    vended.hub_endpoint_url = endpoint_url
    return vended


def model_target(session: boto3.session.Session, model: str) -> str:
    """What to pass as modelId for `model`: your application inference profile of a foundation model,
    or the ARN of an imported model granted to you."""
    models = getattr(session, "hub_models", {})
    target = models.get("profiles", {}).get(model) or models.get("imported_models", {}).get(model)
    if target is None:
        raise AccessRefused(403, "ModelNotGranted", f"{model} is not granted to tenant {models.get('TenantId')}: "
                            f"granted {sorted(models.get('profiles', {})) + sorted(models.get('imported_models', {}))}")
    return target


def guardrail_config(document: dict) -> dict:
    """Converse's guardrailConfig for the tenant's guardrail named in the broker's answer `document`."""
    guardrail = document.get("Guardrail") or {}
    if not guardrail:
        raise AccessRefused(403, "NoGuardrail", "the broker named no guardrail: is the hub older than its guardrails?")
    return {"guardrailIdentifier": guardrail["guardrailIdentifier"], "guardrailVersion": guardrail["guardrailVersion"]}


def converse_with_retry(session: boto3.session.Session, model_id: str, prompt: str) -> dict:
    """Converse once (with the tenant's guardrail, added by the session); on AccessDenied get new
    credentials once (the hub revokes sessions when access changes, and a new session carries what the
    tenant holds now, guardrail included) and try again."""
    for attempt in (1, 2):
        runtime = session.client("bedrock-runtime", endpoint_url=getattr(session, "hub_endpoint_url", None))
        try:
            return runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": prompt}]}])
        except ClientError as error:
            if error.response["Error"]["Code"] != "AccessDeniedException" or attempt == 2:
                raise
            session.get_credentials()._protected_refresh(is_mandatory=True)  # a new session now
    raise AssertionError("unreachable")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The URL is the hub stack's output TenantCredentialsUrl (hubctl tenants show prints it).")
    parser.add_argument("--endpoint-url", help="send requests to a local emulation (hubctl local up), e.g. http://127.0.0.1:4566")
    parser.add_argument("--profile", help="the AWS profile whose identity asks for the tenant's credentials")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("credentials", "print credential_process JSON (Version 1) for the AWS CLI"),
                            ("guardrail", "print your guardrail as the AWS CLI's --guardrail-config wants it (JSON)"),
                            ("ask", "send a prompt to one of your models and print the answer")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--url", required=True, help="the broker's URL (stack output TenantCredentialsUrl)")
        command.add_argument("--tenant", required=True, help="your tenant id, e.g. acme-retail")
        if name == "ask":
            command.add_argument("--model", required=True, help="a model granted to you: a foundation model id or an imported model's id")
            command.add_argument("prompt")
    args = parser.parse_args(argv)
    base = boto3.session.Session(profile_name=args.profile)
    try:
        if args.command == "credentials":
            document = fetch_credentials(args.url, args.tenant, base, args.endpoint_url)
            print(json.dumps({k: document[k] for k in ("Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}))
            return 0
        if args.command == "guardrail":
            print(json.dumps(guardrail_config(fetch_credentials(args.url, args.tenant, base, args.endpoint_url))))
            return 0
        session = vended_session(args.url, args.tenant, base, args.endpoint_url)
        answer = converse_with_retry(session, model_target(session, args.model), args.prompt)
        print(answer["output"]["message"]["content"][0]["text"])
        if answer.get("stopReason") == "guardrail_intervened":
            print(f"(the hub's {session.hub_models['Guardrail']['name']} guardrail intervened)", file=sys.stderr)
            return 4
        return 0
    except AccessRefused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 3
    except ClientError as error:
        print(f"refused by Bedrock: {error.response['Error']['Code']}: {error.response['Error']['Message']}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
