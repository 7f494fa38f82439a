"""The patch layer over moto: only what moto lacks for the hub, each patch documented.

Every patch module has PATCH = Patch(name, replaces, covered_by) and an `apply()` that is safe to
call twice. `tests/seams/test_<module>.py` exercises each module's seams, so that a moto upgrade that
changes the behaviour a patch relies on fails loudly there rather than somewhere in a workflow.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Patch:
    name: str
    replaces: str  # the moto behaviour it replaces, with where it lives
    covered_by: str  # the test of that seam


def _modules():
    from hubsim.patches import (audit_anchor, authz, bedrock, botocore_loader, bedrock_guardrails, bedrock_models, bedrock_runtime, invocation_logs, cfn_object_lock, cloudformation, core, dynamodb, events,
                                 iam, jsonpath, lambda_runtime, lambda_url, s3, sfn_limits, stepfunctions, sts)

    # s3 after events: its cross-account forwarding wraps the events patch's send_to_targets;
    # cfn_object_lock after s3: it wraps the bucket and key creation s3 replaced
    return (botocore_loader, core, cloudformation, iam, jsonpath, lambda_runtime, stepfunctions, events, bedrock, bedrock_guardrails, bedrock_models, bedrock_runtime, invocation_logs, sts, dynamodb,
            s3, cfn_object_lock, audit_anchor, lambda_url, authz, sfn_limits)  # sfn_limits after stepfunctions: it wraps its start_execution


def apply_all() -> list[Patch]:
    from hubsim.patches import core

    for module in _modules():
        module.apply()
    core.clear()  # method names as they are after every patch added its operations
    return describe()


def describe() -> list[Patch]:
    return [m.PATCH for m in _modules()]
