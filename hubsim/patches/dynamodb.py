"""DynamoDB: conditional writes are atomic, as DynamoDB promises.

moto's `DynamoDBBackend.put_item` / `update_item` / `delete_item` / `transact_write_items` check
a ConditionExpression and then write, with nothing between the two: two threads writing the same
key can both pass `attribute_not_exists(...)` and the second silently overwrites the first. The hub
relies on that condition for its locks (tenant lock, import slot, model version) and for its audit
chains (a seq is written once), so under concurrent executions moto lost audit records and could
let a duplicate event through. The replacement runs each write of a backend (one account and
Region) under one lock, so every condition is checked and applied atomically.
"""
import functools
import threading

from moto.dynamodb.models import DynamoDBBackend

from hubsim.patches import Patch

PATCH = Patch(
    name="dynamodb-atomic-conditional-writes",
    replaces="moto.dynamodb.models.DynamoDBBackend.put_item/update_item/delete_item/transact_write_items "
             "(condition check and write are not atomic across threads)",
    covered_by="tests/test_engine_seams.py::test_concurrent_conditional_puts_let_exactly_one_writer_win",
)

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


def apply() -> None:
    if _originals:
        return
    for name in _WRITES:
        _originals[name] = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _atomic(name))
