"""JSONPath: each expression is parsed once per process, not on every use.

`jsonpath_ng.parse` and `jsonpath_ng.ext.parse` build a new PLY parser (lexer and grammar tables)
on every call, and moto calls them for every JSONPath it evaluates: each `.$` parameter, InputPath,
ResultPath and OutputPath of every state (`moto.stepfunctions.parser.asl.utils.json_path`,
`...component.common.path.result_path`) and each EventBridge input transformation
(`moto.events.utils.EventTemplateParser.parse`). Under 64 concurrent onboardings that was about a
sixth of the engine's busy time. A parsed expression is not changed by `find` or
`update_or_create`, so one per path string is shared (the cache is bounded).
"""
import functools

import jsonpath_ng
import jsonpath_ng.ext
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

from hubsim.patches import Patch

PATCH = Patch(
    name="jsonpath-parsed-once",
    replaces="jsonpath_ng.parse / jsonpath_ng.ext.parse as used by moto Step Functions and EventBridge (a new parser per call)",
    covered_by="tests/seams/test_jsonpath.py::test_jsonpath_expressions_are_parsed_once_and_still_evaluate",
)

_originals: dict = {}


def apply() -> None:
    if _originals:
        return
    _originals["parse"], _originals["ext_parse"] = jsonpath_ng.parse, jsonpath_ng.ext.parse
    plain = functools.lru_cache(maxsize=4096)(_originals["parse"])
    extended = functools.lru_cache(maxsize=4096)(_originals["ext_parse"])
    jsonpath_ng.parse, result_path.parse = plain, plain
    # moto.events.utils imports jsonpath_ng.ext.parse inside the function: it takes the module's attribute.
    jsonpath_ng.ext.parse, json_path.parse = extended, extended
