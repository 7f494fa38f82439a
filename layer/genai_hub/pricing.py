"""What a tenant's usage costs: unit prices from data/prices.json, the one price table of the hub.

Prices are decimal strings and every sum is a Decimal, so month-to-date totals add up to the cent
whatever the number of runs. A model the table does not list is an error (`PriceMissing`), never
free: an unpriced model would hide spend from the budget levels.
"""
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from genai_hub.errors import PriceMissing

_TABLE = Path(__file__).resolve().parent / "data" / "prices.json"
_THOUSAND = Decimal(1000)
CENT_FRACTION = Decimal("0.000001")
"""Costs are kept to a millionth of a dollar: a single small call must not round to zero."""


@dataclass(frozen=True)
class UnitPrice:
    input_per_1k: Decimal
    output_per_1k: Decimal
    per_request: Decimal = Decimal(0)


@dataclass(frozen=True)
class Usage:
    """Usage of one profile or model over a window, as CloudWatch's AWS/Bedrock metrics count it."""

    invocations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.invocations + other.invocations, self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens)


@functools.lru_cache(maxsize=1)
def table() -> dict:
    return json.loads(_TABLE.read_text())


def _unit(entry: dict) -> UnitPrice:
    return UnitPrice(Decimal(entry["input_per_1k"]), Decimal(entry["output_per_1k"]), Decimal(entry.get("per_request", "0")))


def unit_price(model_id: str) -> UnitPrice:
    """Unit prices of a foundation model id, or of an imported model `NAME:VERSION` (or its name)."""
    prices = table()
    if model_id in prices["models"]:
        return _unit(prices["models"][model_id])
    if "." not in model_id.split(":", 1)[0]:  # imported models are NAME:VERSION, foundation models provider.model
        imported = prices["imported_models"]
        return _unit(imported["by_model"].get(model_id.split(":", 1)[0], imported["default"]))
    raise PriceMissing(f"{model_id}: no price in {_TABLE.name}; add its input and output prices per 1,000 tokens")


def custom_model_unit_minute() -> Decimal:
    """USD per Custom Model Unit per minute of an active imported model copy (data/prices.json)."""
    return Decimal(table()["imported_models"]["custom_model_unit_minute"])


def cost(model_id: str, usage: Usage) -> Decimal:
    """USD for `usage` of `model_id`, to a millionth of a dollar."""
    price = unit_price(model_id)
    total = (usage.input_tokens * price.input_per_1k / _THOUSAND
             + usage.output_tokens * price.output_per_1k / _THOUSAND
             + usage.invocations * price.per_request)
    return total.quantize(CENT_FRACTION)


def source() -> str:
    """Where the prices come from and when they were taken, for reports."""
    return f"{table()['source']}, as of {table()['as_of']}"
