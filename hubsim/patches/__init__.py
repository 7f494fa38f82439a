"""The patch layer over moto: only what moto lacks for the hub, each patch documented.

Every patch module has PATCH = Patch(name, replaces, covered_by) and an `apply()` that is safe to
call twice. `tests/test_engine_seams.py` exercises each seam, so that a moto upgrade that changes
the behaviour a patch relies on fails loudly there rather than somewhere in a workflow.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Patch:
    name: str
    replaces: str  # the moto behaviour it replaces, with where it lives
    covered_by: str  # the test of that seam


def apply_all() -> list[Patch]:
    from hubsim.patches import bedrock, events, lambda_runtime, stepfunctions, sts

    applied = []
    for module in (lambda_runtime, stepfunctions, events, bedrock, sts):
        module.apply()
        applied.append(module.PATCH)
    return applied


def describe() -> list[Patch]:
    from hubsim.patches import bedrock, events, lambda_runtime, stepfunctions, sts

    return [m.PATCH for m in (lambda_runtime, stepfunctions, events, bedrock, sts)]
