"""Decisions through the hub's decision door (the DecisionUrl output), signed as you.

hubctl signs a `POST /decisions` with SigV4 (service lambda) using your AWS credentials; the hub's
function URL verifies the signature, the decision function checks the decision policy and four-eyes,
answers the waiting workflow and audits who you are as AWS verified it
(https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html). hubctl never calls
SendTaskSuccess itself: only the decision function's role may.
"""
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from hubctl.errors import HubctlError, NotFound, RequestRejected


class DecisionRefused(HubctlError):
    """The hub's decision policy refused (403): the message names the rule."""


def _region_of(url: str, default: str) -> str:
    labels = (urlsplit(url).hostname or "").split(".")  # https://<id>.lambda-url.<region>.on.aws/
    return labels[2] if len(labels) > 3 and labels[1] == "lambda-url" else default


def send(hub, body: dict) -> dict:
    """The decision function's answer to `body`; refusals and bad requests as named hubctl errors."""
    url = hub.output("DecisionUrl").rstrip("/") + "/decisions"
    credentials = hub.session.get_credentials()
    if credentials is None:
        raise HubctlError("no AWS credentials to sign the decision with: decisions are taken as you (aws configure, or a role)")
    parts = urlsplit(url)
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Host": parts.netloc, "content-type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", _region_of(url, hub.session.region_name or "us-east-1")).add_auth(request)
    endpoint = hub.http_endpoint()
    target = f"{endpoint.rstrip('/')}{parts.path}" if endpoint else url
    try:
        with urllib.request.urlopen(urllib.request.Request(target, data=data, headers=dict(request.headers.items()), method="POST"),
                                    timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        try:
            answer = json.loads(refused.read() or b"{}")
        except ValueError:
            answer = {}
        message = answer.get("message") or answer.get("Message") or refused.reason
        if refused.code == 403 and answer.get("rule"):
            raise DecisionRefused(f"refused by the decision policy ({answer['rule']}): {message}") from None
        if refused.code == 403:  # Lambda itself: no lambda:InvokeFunctionUrl for you, or not the hub account
            raise DecisionRefused(f"the decision URL refused your credentials ({message}): your role needs the hub's "
                                  "DeciderPolicy (stack output DeciderPolicyArn)") from None
        if refused.code == 404:
            raise NotFound(message) from None
        if refused.code == 400:
            raise RequestRejected(f"{answer.get('field') or 'request'}: {message}") from None
        raise HubctlError(f"the decision was not taken (HTTP {refused.code} {answer.get('error', '')}): {message}") from None
    except urllib.error.URLError as exc:
        raise HubctlError(f"cannot reach the decision URL {url}: {exc.reason}") from None
