"""`--output table|json|text` and `--query` of the read commands, with the AWS CLI's conventions:
json is exactly the data (valid JSON, nothing else on stdout), text is tab-separated for `cut` and
`while read`, table is the human view; --query is JMESPath (https://jmespath.org) over the json's data.
"""
import json
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

from hubctl.errors import UsageError

FORMATS = ("table", "json", "text")


@dataclass
class Shown:
    """What a read command shows, each called only for the format asked: `data` for json, text and
    --query; `table` prints the human view (it reads what it needs itself)."""

    data: Callable[[], Any]
    table: Callable[[], None]


def compile_query(text: str | None):
    """The --query expression, checked before anything is asked of the hub."""
    if text is None:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        message = " ".join(str(exc).split())  # jmespath points at the column on a second line
        raise UsageError(f"--query {text!r}: not a JMESPath expression ({message}); e.g. --query \"[?status=='ACTIVE'].tenant_id\"") from None


def plain(value):
    """The value with JSON types only: DynamoDB numbers (Decimal) as int or float, datetimes as RFC 3339, sets as lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def show(shown: Shown, output: str, query) -> None:
    """Print what a read command shows in the format asked (the table unless json or text or a query)."""
    if output == "table" and query is None:
        shown.table()
        return
    data = plain(shown.data())
    if query is not None:
        from jmespath.exceptions import JMESPathError

        try:
            data = query.search(data)
        except JMESPathError as exc:  # a function given the wrong type, found only on the data
            message = " ".join(str(exc).split())
            raise UsageError(f"--query: {message[:300]}{'...' if len(message) > 300 else ''}") from None
    if output == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif output == "text":
        sys.stdout.write("".join(f"{line}\n" for line in text_lines(data)))
    else:
        query_table(data)


# --- text: the AWS CLI's text format -------------------------------------------------------------------
# A dict's scalars on one line (sorted keys), then each list or dict under it prefixed with its key in
# capitals; a list of dicts one line each, with the same columns; a list of scalars on one line.

def _scalar(value) -> str:
    return "None" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def text_lines(data, identifier: str | None = None, columns: list[str] | None = None) -> list[str]:
    if isinstance(data, dict):
        keys = columns if columns is not None else sorted(k for k, v in data.items() if not isinstance(v, (dict, list)))
        scalars = [_scalar(data[k]) if k in data else "" for k in keys]
        lines = ["\t".join(([identifier.upper()] if identifier else []) + scalars)] if scalars else []
        for key, value in sorted(data.items()):
            if isinstance(value, (dict, list)):
                lines += text_lines(value, key)
        return lines
    if isinstance(data, list):
        if any(isinstance(v, dict) for v in data):
            keys = sorted({k for v in data if isinstance(v, dict) for k, x in v.items() if not isinstance(x, (dict, list))})
            return [line for v in data for line in text_lines(v, identifier, keys if isinstance(v, dict) else None)]
        if any(isinstance(v, list) for v in data):
            scalars = [v for v in data if not isinstance(v, list)]
            head = text_lines(scalars, identifier) if scalars else []
            return head + [line for v in data if isinstance(v, list) for line in text_lines(v, identifier)]
        if not data:
            return []
        if identifier:
            return [f"{identifier.upper()}\t{_scalar(v)}" for v in data]
        return ["\t".join(_scalar(v) for v in data)]
    return [_scalar(data)]


# --- a query's result as a table -----------------------------------------------------------------------

def query_table(data) -> None:
    """--query with --output table: rows of the selected values, ARNs whole."""
    from hubctl import views

    rows = data if isinstance(data, list) else [data]
    if all(isinstance(r, dict) for r in rows) and rows:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        table = views.new_table(None, *columns, whole=tuple(columns))
        for r in rows:
            table.add_row(*(_cell(r.get(c)) for c in columns))
    elif all(isinstance(r, list) for r in rows) and rows:
        width = max(len(r) for r in rows)
        table = views.new_table(None, *(str(i) for i in range(width)), show_header=False, whole=tuple(str(i) for i in range(width)))
        for r in rows:
            table.add_row(*(_cell(v) for v in r), *([""] * (width - len(r))))
    else:
        table = views.new_table(None, "value", show_header=False, whole=("value",))
        for r in rows:
            table.add_row(_cell(r))
    views.print_table(table)


def _cell(value):
    from rich.text import Text

    # Text, not a markup string: data such as "[red]" is shown as it is.
    return Text(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else _scalar(value))
