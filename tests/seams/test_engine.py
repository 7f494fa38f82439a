"""Tests of the engine itself (hubsim/engine.py, hubsim/deploy.py, hubsim/runtime.py) and of the patch
layer as a whole, which belong to no single patch: the registry's check that every
PATCH.covered_by names an existing test.
"""
import sys

from hubsim import deploy, patches


def test_every_patch_names_an_existing_test():
    described = patches.describe()
    assert described, "hubsim.patches.describe() lists no patch"
    import importlib

    for patch in described:
        for test in patch.covered_by.split(", "):  # a patch of several seams names a test for each
            path, _, name = test.partition("::")
            assert path.startswith("tests/") and path.rsplit("/", 1)[-1].startswith("test_") and path.endswith(".py"), patch
            if not name:  # a whole seam test module
                assert (deploy.ROOT / path).exists(), patch
                continue
            module = sys.modules[__name__] if path == "tests/seams/test_engine.py" else importlib.import_module(path[6:-3].replace("/", "."))
            assert callable(getattr(module, name, None)) and name.startswith("test_"), f"{patch.name}: no test {name}"
    assert len({p.name for p in described}) == len(described)
