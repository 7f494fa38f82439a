"""CloudFormation: JSON bodies read as JSON, and a stack's generated names stable per deployment.

`moto.cloudformation.models.Stack.parse_template` reads every template body with PyYAML's
pure-Python loader first (JSON is a subset of YAML) and falls back to JSON only when that fails.
The hub's translated template is ~400 kB of JSON: the YAML loader took ~1.8 s of every hub
deployment, and every test deploys one. The replacement tries `json.loads` first, which gives the
same dictionary for a JSON body in a few milliseconds, and keeps moto's reading for YAML bodies
(the spoke templates a user deploys with `hubctl local` stay YAML with short-form tags).

`Stack.create_stack` draws every generated name (`<stack>-<LogicalId>-<12 random>`) from moto's
shared random source, so each deployment of the hub gets new function names, and the state machine
definitions that embed those ARNs are new strings that the interpreter parses again with ANTLR
(~1.9 s for the five machines, in every test). The replacement draws them from a source seeded by
account, Region, stack name and how many stacks of that name were deleted before: the same
deployment in a fresh emulation gets the same names (and its definitions are parsed once per
process), a stack created again after a delete gets new ones, as on AWS. The shared source is
restored afterwards, so nothing else becomes predictable.

moto logs "No Moto CloudFormation support for <type>" at WARNING for every resource it skips (the
hub's 11 CloudWatch alarms and its Scheduler schedule: 12 lines on every deployment). They are
counted per type in `not_emulated` instead, for the engine's deployment report and
docs/emulator.md, and shown only when HUBSIM_VERBOSE is set.
"""
import hashlib
import json
import logging
import os
import threading
from collections import Counter

from moto.cloudformation import models as cfn_models
from moto.moto_api._internal import mock_random

from hubsim.patches import Patch

PATCH = Patch(
    name="cloudformation-json-body-stable-names",
    replaces="moto.cloudformation.models.Stack.parse_template (reads JSON bodies with the pure-Python YAML loader), "
             "CloudFormationBackend.create_stack (random generated names on every deployment)",
    covered_by="tests/seams/test_cloudformation.py::test_json_and_yaml_template_bodies_read_alike",
)

_originals: dict = {}
not_emulated: Counter = Counter()  # resource type -> how many moto's CloudFormation skipped


class _NotEmulated(logging.Filter):
    """Counts moto's "No Moto CloudFormation support for %s" records; lets them through only when verbose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "No Moto CloudFormation support for %s" and record.args:
            not_emulated[str(record.args[0])] += 1
            return bool(os.environ.get("HUBSIM_VERBOSE"))
        return True


def parse_template(template: str) -> dict:
    if template.lstrip().startswith("{"):
        try:
            return json.loads(template)
        except ValueError:
            pass  # not JSON after all (a YAML flow mapping): moto's reading decides
    return _originals["parse_template"](template)


_seed_lock = threading.Lock()


def create_stack(self, name: str, *args, **kwargs):
    created_before = sum(1 for stack in self.deleted_stacks.values() if stack.name == name)
    seed = hashlib.sha256(f"{self.account_id}/{self.region_name}/{name}/{created_before}".encode()).digest()
    with _seed_lock:  # one seeded deployment at a time; other draws meanwhile still get distinct values
        shared = mock_random.getstate()
        mock_random.seed(seed)
        try:
            return _originals["create_stack"](self, name, *args, **kwargs)
        finally:
            mock_random.setstate(shared)


def apply() -> None:
    if _originals:
        return
    logging.getLogger("moto").addFilter(_NotEmulated())  # moto.cloudformation.parsing logs as "moto"
    _originals["parse_template"] = cfn_models.Stack.parse_template
    _originals["create_stack"] = cfn_models.CloudFormationBackend.create_stack
    cfn_models.Stack.parse_template = staticmethod(parse_template)
    cfn_models.CloudFormationBackend.create_stack = create_stack
