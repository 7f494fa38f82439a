"""Seam tests of hubsim/patches/authz.py: every call of every emulated service is authorised as IAM
authorises it (identity, resource and session policies, boundaries, KMS key policies, the
cross-account rule), and state machine integrations run as the machine's role."""
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from hubsim.patches import authz

from .conftest import HUB_ACCOUNT, SPOKE_ACCOUNT as SPOKE, _wait_for_execution
TRUST_HUB = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}


def _allow(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]})


def _role(name: str, policy: str | None, *, account: str = HUB_ACCOUNT, trust: dict = TRUST_HUB, boundary: str | None = None) -> str:
    iam = boto3.client("iam") if account == HUB_ACCOUNT else _root(account).client("iam")
    kwargs = {"PermissionsBoundary": boundary} if boundary else {}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **kwargs)["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=policy)
    return arn


def _root(account: str) -> boto3.Session:
    from hubsim.principals import ACCOUNT_ADMIN_ROLE

    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCOUNT_ADMIN_ROLE}",
                                            RoleSessionName="admin")["Credentials"]
    return _session(creds)


def _session(creds: dict) -> boto3.Session:
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name="us-east-1")


def _as(role_arn: str, *, via: boto3.Session | None = None, policy: str | None = None) -> boto3.Session:
    sts = (via.client("sts") if via else boto3.client("sts"))
    kwargs = {"Policy": policy} if policy else {}
    return _session(sts.assume_role(RoleArn=role_arn, RoleSessionName="seam", **kwargs)["Credentials"])


def _table(name: str) -> str:
    boto3.client("dynamodb").create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                          BillingMode="PAY_PER_REQUEST")
    return f"arn:aws:dynamodb:us-east-1:{HUB_ACCOUNT}:table/{name}"


def _denied(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_the_test_command_enforces_iam():
    assert authz.mode() == "enforce", "HUBSIM_IAM must not be set to off or record in the test command"


def test_identity_policy_scopes_actions_and_resources(engine):
    table = _table("allowed")
    _table("other")
    ddb = _as(_role("reader", _allow({"Action": "dynamodb:GetItem", "Resource": table}))).client("dynamodb")
    assert "Item" not in ddb.get_item(TableName="allowed", Key={"pk": {"S": "x"}})
    error = _denied(lambda: ddb.put_item(TableName="allowed", Item={"pk": {"S": "x"}}))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    message = error.response["Error"]["Message"]
    assert "assumed-role/reader/seam is not authorized to perform: dynamodb:PutItem" in message
    assert f"on resource: {table}" in message and "no identity-based policy allows" in message
    assert _denied(lambda: ddb.get_item(TableName="other", Key={"pk": {"S": "x"}})).response["Error"]["Code"] == "AccessDeniedException"


def test_a_transaction_needs_the_action_of_each_item_on_each_table(engine):
    table = _table("ledger")
    ddb = _as(_role("writer", _allow({"Action": ["dynamodb:PutItem"], "Resource": table}))).client("dynamodb")
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "ledger", "Item": {"pk": {"S": "a"}}}}])
    error = _denied(lambda: ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "ledger", "Item": {"pk": {"S": "b"}}}},
        {"Update": {"TableName": "ledger", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "1"}}}}]))
    assert "dynamodb:UpdateItem" in error.response["Error"]["Message"]


def test_explicit_deny_session_policy_and_boundary_limit_an_allowing_role(engine):
    table = _table("t")
    everything = _allow({"Action": "dynamodb:*", "Resource": "*"})
    role = _role("wide", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}]}))
    ddb = _as(role).client("dynamodb")
    ddb.put_item(TableName="t", Item={"pk": {"S": "x"}})
    assert "explicit deny" in _denied(lambda: ddb.delete_item(TableName="t", Key={"pk": {"S": "x"}})).response["Error"]["Message"]
    narrowed = _as(role, policy=_allow({"Action": "dynamodb:GetItem", "Resource": table})).client("dynamodb")
    narrowed.get_item(TableName="t", Key={"pk": {"S": "x"}})
    assert "no session policy allows" in _denied(lambda: narrowed.put_item(TableName="t", Item={"pk": {"S": "y"}})).response["Error"]["Message"]
    boundary = boto3.client("iam").create_policy(PolicyName="only-get", PolicyDocument=_allow({"Action": "dynamodb:GetItem", "Resource": "*"}))["Policy"]["Arn"]
    bounded = _as(_role("bounded", everything, boundary=boundary)).client("dynamodb")
    bounded.get_item(TableName="t", Key={"pk": {"S": "x"}})
    assert "no permissions boundary allows" in _denied(lambda: bounded.put_item(TableName="t", Item={"pk": {"S": "z"}})).response["Error"]["Message"]


def test_a_queue_policy_naming_the_role_suffices_in_its_account(engine):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{HUB_ACCOUNT}:inbox"
    role = _role("sender", None)
    sender = _as(role).client("sqs")
    assert _denied(lambda: sender.send_message(QueueUrl=url, MessageBody="hi")).response["Error"]["Code"] == "AccessDenied"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": arn}]})})
    sender.send_message(QueueUrl=url, MessageBody="hi")


def test_a_kms_key_policy_must_allow_even_a_role_whose_identity_policy_does(engine):
    kms = boto3.client("kms")
    role = _role("crypto", _allow({"Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"}))
    closed = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:user/admin"}, "Action": "kms:*", "Resource": "*"}]}))
    delegating = kms.create_key()  # the default key policy delegates to the account's IAM policies
    user = _as(role).client("kms")
    user.encrypt(KeyId=delegating["KeyMetadata"]["KeyId"], Plaintext=b"x")
    error = _denied(lambda: user.encrypt(KeyId=closed["KeyMetadata"]["KeyId"], Plaintext=b"x"))
    assert "no resource-based policy allows" in error.response["Error"]["Message"]


def test_cross_account_needs_the_identity_policy_and_the_bucket_policy(engine):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="hub-shared")
    s3.put_object(Bucket="hub-shared", Key="k", Body=b"v")
    admin = _root(SPOKE)
    role = _role("reader", _allow({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::hub-shared/*"}), account=SPOKE,
                 trust={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"},
                                                                "Action": "sts:AssumeRole"}]})
    reader = _as(role, via=admin).client("s3")
    assert _denied(lambda: reader.get_object(Bucket="hub-shared", Key="k")).response["Error"]["Code"] == "AccessDenied"
    s3.put_bucket_policy(Bucket="hub-shared", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::hub-shared/*"}]}))
    assert reader.get_object(Bucket="hub-shared", Key="k")["Body"].read() == b"v"


def _machine(name: str, role_arn: str, table: str) -> str:
    definition = {"StartAt": "Put", "States": {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": table, "Item": {"pk": {"S": "from-machine"}}}, "End": True}}}
    return boto3.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=role_arn)["stateMachineArn"]


def _run(machine_arn: str) -> dict:
    sfn = boto3.client("stepfunctions")
    return _wait_for_execution(sfn, sfn.start_execution(stateMachineArn=machine_arn)["executionArn"])


def _states_trust(machine_name: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:states:us-east-1:{HUB_ACCOUNT}:stateMachine:{machine_name}"}}}]}


def test_state_machine_integrations_run_as_the_machine_role(engine):
    table = _table("machine-table")
    allowed = _role("machine-ok", _allow({"Action": "dynamodb:PutItem", "Resource": table}), trust=_states_trust("ok"))
    bare = _role("machine-bare", _allow({"Action": "dynamodb:GetItem", "Resource": table}), trust=_states_trust("bare"))
    assert _run(_machine("ok", allowed, "machine-table"))["status"] == "SUCCEEDED"
    failed = _run(_machine("bare", bare, "machine-table"))
    assert failed["status"] == "FAILED"
    assert failed["error"] == "DynamoDB.AccessDeniedException"
    assert "machine-bare" in failed["cause"] and "dynamodb:PutItem" in failed["cause"]


def test_a_machine_role_that_trusts_another_machine_fails_every_integration(engine):
    _table("machine-table")
    role = _role("machine-wrong", _allow({"Action": "dynamodb:PutItem", "Resource": "*"}), trust=_states_trust("some-other-machine"))
    failed = _run(_machine("mine", role, "machine-table"))
    assert failed["status"] == "FAILED"
    assert "states.amazonaws.com is not authorized to perform: sts:AssumeRole" in failed.get("cause", "")


def test_eventbridge_starts_a_machine_only_as_a_target_role_that_trusts_the_rule_and_may_start_it(engine):
    _table("machine-table")
    machine = _machine("target", _role("target-states", _allow({"Action": "dynamodb:PutItem", "Resource": "*"}),
                                       trust=_states_trust("target")), "machine-table")
    sqs, events = boto3.client("sqs"), boto3.client("events")
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq = f"arn:aws:sqs:us-east-1:{HUB_ACCOUNT}:dlq"
    rule_arn = events.put_rule(Name="starts", EventPattern=json.dumps({"source": ["seam"]}))["RuleArn"]

    def events_role(name: str, source_arn: str, actions: list) -> str:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                 "Action": "sts:AssumeRole", "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}}]}
        return _role(name, _allow({"Action": actions, "Resource": machine}) if actions else None, trust=trust)

    targets = {"trusts-other-rule": events_role("other-rule", rule_arn.replace(":rule/starts", ":rule/other"), ["states:StartExecution"]),
               "no-permission": events_role("no-permission", rule_arn, []),
               "allowed": events_role("allowed", rule_arn, ["states:StartExecution"])}
    events.put_targets(Rule="starts", Targets=[{"Id": tid, "Arn": machine, "RoleArn": role, "DeadLetterConfig": {"Arn": dlq}}
                                               for tid, role in targets.items()])
    events.put_events(Entries=[{"Source": "seam", "DetailType": "Go", "Detail": "{}"}])

    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1  # only the allowed role started it
    messages = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10)["Messages"]
    reasons = sorted(m["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"] for m in messages)
    assert len(reasons) == 2 and all(m["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "TargetAccessDenied" for m in messages)
    assert any("events.amazonaws.com is not authorized to perform: sts:AssumeRole" in r and "other-rule" in r for r in reasons)
    assert any("assumed-role/no-permission/" in r and "states:StartExecution" in r for r in reasons)
