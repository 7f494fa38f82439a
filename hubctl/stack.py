"""Find the hub's resources from its CloudFormation stack outputs, on AWS or on a local endpoint."""
import os
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError


class StackNotFound(RuntimeError):
    pass


REQUIRED_OUTPUTS = ("EventBusName", "RegistryTableName", "AuditTableName", "OnboardingStateMachineArn")
# Where HTTP requests to the hub's function URLs go when no --endpoint-url is given and a hub is
# emulated in this very process (hubsim.engine.LocalHub sets it: its moto server, started on demand).
in_process_http = None


@dataclass
class Hub:
    session: boto3.session.Session
    endpoint_url: str | None
    outputs: dict
    _clients: dict = field(default_factory=dict, repr=False, compare=False)

    def client(self, service: str, region: str | None = None):
        # One client per service and Region: a new client parses its endpoint rules again (~0.1 s).
        key = (service, region or self.session.region_name)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, endpoint_url=self.endpoint_url, region_name=key[1])
        return self._clients[key]

    def http_endpoint(self) -> str | None:
        """Send function URL requests here instead of their own host (a local emulation), or None (AWS)."""
        return self.endpoint_url or (in_process_http() if in_process_http else None)

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackNotFound(f"the stack has no output {key}: deploy the current template.yaml") from None


_CREDENTIAL_ENV = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION")
_sessions: dict = {}


def session_for(endpoint_url: str | None, region: str | None) -> boto3.session.Session:
    """The session of a command. A process that runs several commands (the demo, the tests) reuses it
    while the credentials in the environment are the same: a new session reads botocore's service
    models and endpoint rules again."""
    key = (endpoint_url, region, tuple(os.environ.get(k) for k in _CREDENTIAL_ENV))
    if key not in _sessions:
        _sessions[key] = _new_session(endpoint_url, region)
    return _sessions[key]


def _new_session(endpoint_url: str | None, region: str | None) -> boto3.session.Session:
    # Explicit --region, else what boto3 resolves (AWS_REGION, ~/.aws/config), else us-east-1.
    region = region or os.environ.get("AWS_REGION") or boto3.session.Session().region_name or "us-east-1"
    if endpoint_url:
        # A local endpoint accepts any credentials; don't make a new user configure some.
        session = boto3.session.Session(region_name=region)
        if session.get_credentials() is None:
            return boto3.session.Session(aws_access_key_id="hubctl", aws_secret_access_key="hubctl", region_name=region)
        return session
    return boto3.session.Session(region_name=region)


def connect(stack_name: str, endpoint_url: str | None = None, region: str | None = None) -> Hub:
    hub = Hub(session=session_for(endpoint_url, region), endpoint_url=endpoint_url, outputs={})
    try:
        stack = hub.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    except NoCredentialsError:
        raise StackNotFound("no AWS credentials: configure them (aws configure) or pass --endpoint-url http://127.0.0.1:4566 for `hubctl local up`") from None
    except NoRegionError:
        raise StackNotFound("no AWS region: pass --region or set AWS_REGION") from None
    except ClientError as exc:
        raise StackNotFound(f"stack {stack_name!r} not found ({exc.response['Error']['Message']}): deploy it with `sam build && sam deploy`, or start `hubctl local up`") from None
    except Exception as exc:  # connection refused on a local endpoint, etc.
        hint = "is `hubctl local up` running there? (else fix --endpoint-url)" if endpoint_url else "check the network and --region"
        raise StackNotFound(f"cannot reach {endpoint_url or 'AWS'}: {exc}: {hint}") from None
    hub.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return hub
