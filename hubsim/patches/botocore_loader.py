"""botocore: one data loader for every session of the process, as one Lambda execution environment
keeps one for its life.

Every boto3 Session builds a botocore session with its own `Loader`, and a Loader caches what it
reads (service models, paginators, endpoints.json, the list of available services) per instance. On
AWS each Lambda execution environment pays that once and keeps it warm. The embedded emulation hosts
every function, every state machine integration, hubctl and the tests in one process, and they make
new sessions all the time (each assumed role, each vended tenant session): each one re-read and
re-parsed the same gzip JSON files from disk and listed the data directories again (about 50 ms per
new session and client, a quarter of the CPU of a budget run). The files are botocore's static data,
the same for every session: `botocore.session.create_loader` is made to return one Loader per data
path. Nothing a session holds of its own (credentials, region, config, event handlers) is shared.
"""
import functools

import botocore.session

from hubsim.patches import Patch

PATCH = Patch(
    name="botocore-shared-data-loader",
    replaces="botocore.session.create_loader (a new Loader, with empty caches, for every session)",
    covered_by="tests/seams/test_botocore_loader.py",
)

_original = botocore.session.create_loader


@functools.lru_cache(maxsize=None)
def create_loader(search_path_string=None):
    return _original(search_path_string)


def apply() -> None:
    botocore.session.create_loader = create_loader
