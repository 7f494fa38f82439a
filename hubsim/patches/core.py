"""moto core: the reflection each request repeats is done once per response class.

`BaseResponse.call_action` finds the method of an action with
`method_names_from_class(self.__class__)`, an `inspect.getmembers` over the whole response class
(hundreds of attributes) on every request: about 0.9 ms per call, the largest fixed cost of an
in-process AWS call after botocore's own. The names of a class's functions do not change once the
patch layer has added its operations, so they are cached per class; `apply_all` clears the cache
after every patch is applied.
"""
import functools

from moto.core import responses, utils

from hubsim.patches import Patch

PATCH = Patch(
    name="core-cached-method-names",
    replaces="moto.core.responses.method_names_from_class (inspect.getmembers of the response class per request)",
    covered_by="tests/seams/test_core.py::test_operations_added_by_patches_are_dispatched",
)

_original = utils.method_names_from_class


@functools.lru_cache(maxsize=None)
def _cached(clazz) -> tuple[str, ...]:
    return tuple(_original(clazz))


def method_names_from_class(clazz) -> list:
    return _cached(clazz)


def clear() -> None:
    _cached.cache_clear()


def apply() -> None:
    responses.method_names_from_class = method_names_from_class
    clear()
