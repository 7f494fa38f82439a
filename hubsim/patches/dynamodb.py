"""DynamoDB: conditional writes are atomic, as DynamoDB promises.

moto's `DynamoDBBackend.put_item` / `update_item` / `delete_item` / `transact_write_items` check
a ConditionExpression and then write, with nothing between the two: two threads writing the same
key can both pass `attribute_not_exists(...)` and the second silently overwrites the first. The hub
relies on that condition for its locks (tenant lock, import slot, model version) and for its audit
chains (a seq is written once), so under concurrent executions moto lost audit records and could
let a duplicate event through. The replacement runs each write of a backend (one account and
Region) under one lock, so every condition is checked and applied atomically.

Second seam: `Table.query` takes its candidates from `Table.all_items()`, which sorts every item
of the table (DynamoType comparisons, O(N log N)) on every Query, even one on a single partition.
DynamoDB reads one partition; with 15,000 registry items (a retirement of 5,000 tenants) each
Query cost 13 ms instead of well under one. During a query, `all_items` here returns only the
queried partition for a table query, and the items unsorted for an index query (moto sorts the
matches afterwards either way), so results and their order are unchanged.

Third seam: `DynamoResult.execute_result` serializes every response by walking botocore's shape
of the operation (moto's generic serializer, about 2 ms per item-bearing response). The results of
the data-plane operations are already DynamoDB's wire format (`dynamo_to_dict`), so for those
`json.dumps` gives the same body; the seam test compares both.
"""
import base64
import functools
import json
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

from hubsim.patches import Patch

PATCH = Patch(
    name="dynamodb-atomic-conditional-writes",
    replaces="moto.dynamodb.models.DynamoDBBackend.put_item/update_item/delete_item/transact_write_items "
             "(condition check and write are not atomic across threads); "
             "moto.dynamodb.models.table.Table.query/all_items (every Query sorts the whole table); "
             "moto.dynamodb.responses.DynamoResult.execute_result (shape-walking serializer on wire-format results)",
    covered_by="tests/seams/test_dynamodb.py::test_concurrent_conditional_puts_let_exactly_one_writer_win, "
               "tests/seams/test_dynamodb.py::test_a_query_reads_its_partition_only, "
               "tests/seams/test_dynamodb.py::test_data_plane_responses_are_serialized_as_moto_would",
)
_query_scope = threading.local()

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_locks: dict[int, threading.RLock] = {}
_locks_guard = threading.Lock()
_originals: dict[str, object] = {}


def _lock_of(backend) -> threading.RLock:
    lock = _locks.get(id(backend))
    if lock is None:
        with _locks_guard:
            lock = _locks.setdefault(id(backend), threading.RLock())
    return lock


def _atomic(name: str):
    original = _originals[name]

    @functools.wraps(original)
    def write(self, *args, **kwargs):
        with _lock_of(self):
            return original(self, *args, **kwargs)

    return write


def _scoped_query(original):
    @functools.wraps(original)
    def query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _query_scope.scope = (self, None if index_name else hash_key)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.scope = None

    return query


def _scoped_all_items(original):
    @functools.wraps(original)
    def all_items(self):
        table, hash_key = getattr(_query_scope, "scope", None) or (None, None)
        if table is not self:
            return original(self)
        if hash_key is not None and self.range_key_attr:
            return list(self.items.get(hash_key, {}).values())
        return [item for value in list(self.items.values())
                for item in (list(value.values()) if self.range_key_attr else [value])]

    return all_items


# Operations whose results are items and keys in wire format, nothing else to convert.
WIRE_FORMAT_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                                    "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})


def _base64(value):
    """Binary attribute values (B, BS) are base64 on the wire, as moto's serializer writes them."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _wire_format(original):
    @functools.wraps(original)
    def execute_result(self, context):
        if context.operation_model.name in WIRE_FORMAT_OPERATIONS and isinstance(self.result, dict) \
                and context.serializer_class.__name__.startswith("JSON"):
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result, default=_base64)
        return original(self, context)

    return execute_result


def apply() -> None:
    if _originals:
        return
    for name in _WRITES:
        _originals[name] = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _atomic(name))
    _originals["query"], _originals["all_items"] = Table.query, Table.all_items
    Table.query = _scoped_query(Table.query)
    Table.all_items = _scoped_all_items(Table.all_items)
    _originals["execute_result"] = DynamoResult.execute_result
    DynamoResult.execute_result = _wire_format(DynamoResult.execute_result)
