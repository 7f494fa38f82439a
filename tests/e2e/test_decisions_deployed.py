"""The decision door of a deployed stack: Lambda authenticates, the hub records who AWS says you are.

Skipped unless GENAI_HUB_E2E_STACK names a deployed stack and AWS credentials work (tests/conftest.py
`deployed`). Creates nothing: it asks to approve a version that does not exist, signed and unsigned,
and reads the audit record of the refusal. Run: GENAI_HUB_E2E_STACK=genai-hub pytest tests/e2e -m aws
"""
import json
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.aws


def test_an_unsigned_decision_is_refused_by_lambda_and_a_signed_one_is_audited_with_the_verified_arn(deployed):
    from hubctl import decide

    url = deployed.outputs["DecisionUrl"].rstrip("/") + "/decisions"
    body = json.dumps({"action": "approve", "model": "e2e-ghost", "version": f"0.0.{uuid.uuid4().int % 1000}"}).encode()
    # Unsigned: Lambda answers 403 before any hub code runs (AuthType AWS_IAM)
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"}), timeout=30)
    assert unsigned.value.code == 403

    # Signed as the test's credentials: the hub answers (no such version, or a refusal naming the rule)
    me = deployed.client("sts").get_caller_identity()["Arn"]
    with pytest.raises(Exception) as answered:
        decide.send(deployed, json.loads(body))
    assert "e2e-ghost" in str(answered.value) or "refused" in str(answered.value)
    from genai_hub import audit

    records = audit.read_stream("rejected#decisions", table=deployed.outputs["AuditTableName"])
    assert any(r["actor"] == me and "e2e-ghost" in r["detail"] for r in records[-20:]), "the refusal is audited with the verified ARN"
