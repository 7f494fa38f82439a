"""Find the hub's resources from its CloudFormation stack outputs, on AWS or on a local endpoint."""
import os
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError


class StackNotFound(RuntimeError):
    pass


REQUIRED_OUTPUTS = ("EventBusName", "RegistryTableName", "AuditTableName", "OnboardingStateMachineArn")


@dataclass
class Hub:
    session: boto3.session.Session
    endpoint_url: str | None
    outputs: dict

    def client(self, service: str, region: str | None = None):
        return self.session.client(service, endpoint_url=self.endpoint_url, region_name=region or self.session.region_name)

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackNotFound(f"the stack has no output {key}: deploy the current template.yaml") from None


def session_for(endpoint_url: str | None, region: str | None) -> boto3.session.Session:
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
    session = session_for(endpoint_url, region)
    try:
        cfn = session.client("cloudformation", endpoint_url=endpoint_url)
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except NoCredentialsError:
        raise StackNotFound("no AWS credentials: configure them (aws configure) or pass --endpoint-url http://127.0.0.1:4566 for `hubctl local up`") from None
    except NoRegionError:
        raise StackNotFound("no AWS region: pass --region or set AWS_REGION") from None
    except ClientError as exc:
        raise StackNotFound(f"stack {stack_name!r} not found ({exc.response['Error']['Message']}): deploy it with `sam build && sam deploy`, or start `hubctl local up`") from None
    except Exception as exc:  # connection refused on a local endpoint, etc.
        hint = "is `hubctl local up` running there? (else fix --endpoint-url)" if endpoint_url else "check the network and --region"
        raise StackNotFound(f"cannot reach {endpoint_url or 'AWS'}: {exc}: {hint}") from None
    return Hub(session=session, endpoint_url=endpoint_url, outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
