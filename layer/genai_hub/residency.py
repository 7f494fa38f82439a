"""Data residency: which Region and which cross-Region inference profiles may serve a tenant.

A tenant's application inference profile is copied from a system-defined cross-Region profile.
The geographic profiles (`us.`, `eu.`, `apac.`) keep inference inside one geography; `global.`
profiles route to any commercial Region and are chosen only when the tenant allows it.
"""
import functools
import json
from pathlib import Path

from genai_hub.errors import NoProfileForResidency, ResidencyViolation

_DATA = Path(__file__).parent / "data" / "residency.json"


@functools.lru_cache(maxsize=None)
def _table() -> dict:
    return json.loads(_DATA.read_text())


def home_region(residency: str) -> str:
    return _table()[residency]["region"]


def allowed_prefixes(residency: str, allow_global: bool) -> list[str]:
    """Profile-id prefixes a tenant may use, most specific first."""
    prefixes = [_table()[residency]["profile_prefix"]]
    if allow_global:
        prefixes.append(_table()["global_prefix"])
    return prefixes


def choose_source_profile(model_id: str, residency: str, allow_global: bool, system_profile_ids: set[str]) -> str:
    """The system-defined profile id to copy for `model_id`, honouring the tenant's residency."""
    for prefix in allowed_prefixes(residency, allow_global):
        candidate = f"{prefix}.{model_id}"
        if candidate in system_profile_ids:
            return candidate
    allowed = " or ".join(f"{p}.{model_id}" for p in allowed_prefixes(residency, allow_global))
    raise NoProfileForResidency(
        f"model {model_id} has no cross-Region inference profile for data residency {residency!r} "
        f"in {home_region(residency)} (looked for {allowed})"
    )


def assert_within_residency(profile_id: str, residency: str, allow_global: bool) -> None:
    prefix = profile_id.split(".", 1)[0]
    if prefix not in allowed_prefixes(residency, allow_global):
        raise ResidencyViolation(f"profile {profile_id} is outside data residency {residency!r}")


def region_allowed(region: str, residency: str, allow_global: bool) -> bool:
    """May a tenant of this residency use a model hosted in `region` (an imported model lives in one Region)?"""
    if allow_global:
        return True
    prefix = {"us": ("us-",), "eu": ("eu-",), "apac": ("ap-",)}[residency]
    return region.startswith(prefix)
