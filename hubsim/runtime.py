"""Per-thread process state for in-process Lambda invocations.

Many executions run at once, each Lambda invocation on its own thread. Two pieces of process-wide
state must look per-invocation to the handler: `os.environ` (each function has its own variables)
and stdout (each invocation's output is its log). Setting them globally races between threads
(botocore raising KeyError while another thread swaps os.environ; output attributed to the wrong
function), so both become thread-aware proxies: a thread with an overlay sees its own view, every
other thread sees the process's.
"""
import io
import os
import sys
import threading
from collections.abc import MutableMapping
from contextlib import contextmanager

_local = threading.local()


class ThreadEnviron(MutableMapping):
    """os.environ whose reads and writes go to the current invocation's overlay when it has one."""

    def __init__(self, base):
        self._base = base

    def _view(self):
        return getattr(_local, "env", None)

    def __getitem__(self, key):
        view = self._view()
        return (view if view is not None else self._base)[key]

    def __setitem__(self, key, value):
        view = self._view()
        (view if view is not None else self._base)[key] = value

    def __delitem__(self, key):
        view = self._view()
        del (view if view is not None else self._base)[key]

    def __iter__(self):
        view = self._view()
        return iter(list(view if view is not None else self._base))

    def __len__(self):
        view = self._view()
        return len(view if view is not None else self._base)

    def copy(self):
        return dict(self.items())

    # os.environ API used by the stdlib and libraries
    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class ThreadStdout(io.TextIOBase):
    """sys.stdout that writes to the current invocation's log buffer when it has one."""

    def __init__(self, base):
        self._base = base

    def write(self, text):
        buffer = getattr(_local, "log", None)
        return (buffer if buffer is not None else self._base).write(text)

    def flush(self):
        if getattr(_local, "log", None) is None:
            self._base.flush()

    def isatty(self):
        return self._base.isatty()

    @property
    def encoding(self):
        return getattr(self._base, "encoding", "utf-8")

    def fileno(self):
        return self._base.fileno()


_install_lock = threading.Lock()


def install() -> None:
    """Put the thread-aware proxies in place, again if someone (pytest's capture) replaced them."""
    if isinstance(os.environ, ThreadEnviron) and isinstance(sys.stdout, ThreadStdout):
        return
    with _install_lock:
        if not isinstance(os.environ, ThreadEnviron):
            os.environ = ThreadEnviron(os.environ)  # noqa: B003 - deliberate, see module docstring
        if not isinstance(sys.stdout, ThreadStdout):
            sys.stdout = ThreadStdout(sys.stdout)


@contextmanager
def invocation(env: dict):
    """Run the body with `env` as this thread's environment and collect what it prints."""
    install()
    base = os.environ._base if isinstance(os.environ, ThreadEnviron) else os.environ
    view = dict(base)
    view.update({k: str(v) for k, v in env.items()})
    previous_env, previous_log = getattr(_local, "env", None), getattr(_local, "log", None)
    _local.env, _local.log = view, io.StringIO()
    try:
        yield _local.log
    finally:
        _local.env, _local.log = previous_env, previous_log
