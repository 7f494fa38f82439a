"""The registry table: tenants, their inference profiles, allowlist grants and workflow locks.

Keys: pk `TENANT#<id>` with sk `META` (the tenant), `LOCK` (onboarding lock),
`PROFILE#<model>` and `GRANT#<model>`. Grants also carry gsi1pk `MODEL#<model>` so a model's
tenants are one query on the ByModel index, never a scan (retirement will need it). The same
index lists every tenant (META items carry gsi1pk `TENANTS`) and a month's usage items
(`USAGE#<YYYY-MM>`, see metering.py): the index is the table's one secondary key.
"""
import re
from datetime import datetime, timezone

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from genai_hub import aws, config
from genai_hub.errors import TenantNotFound

_ser, _de = TypeSerializer(), TypeDeserializer()
TENANTS_KEY = "TENANTS"
TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{2,38}[a-z0-9]$")  # the schemas' tenant_id pattern


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def version_key(model_name: str, version: str) -> dict:
    """The key of an imported model version (import, evaluation and retirement all write it)."""
    return {"pk": f"MODEL#{model_name}", "sk": f"VERSION#{version}"}


def to_item(data: dict) -> dict:
    return {k: _ser.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict) -> dict:
    return _plain({k: _de.deserialize(v) for k, v in item.items()})


def _plain(value):
    """DynamoDB numbers come back as Decimal: turn them into int/float for JSON."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _ddb():
    return aws.client("dynamodb")


def put_tenant_pending(tenant: dict, execution: str, chapters: list | None = None) -> None:
    """Register the tenant as PENDING; a tenant that FAILED or was OFFBOARDED before may be onboarded
    again. `chapters`: what earlier lives of the tenant id left (offboarding tombstones), kept on META."""
    _ddb().put_item(
        TableName=config.registry_table(),
        Item=to_item({
            "pk": tenant_pk(tenant["tenant_id"]),
            "sk": "META",
            "kind": "tenant",
            "gsi1pk": TENANTS_KEY, "gsi1sk": tenant_pk(tenant["tenant_id"]),
            "tenant_id": tenant["tenant_id"],
            "display_name": tenant["display_name"],
            "cost_center": tenant["cost_center"],
            "data_residency": tenant["data_residency"],
            "allow_global_inference": tenant["allow_global_inference"],
            "guardrail": tenant["guardrail"],  # every call of the tenant carries it (genai_hub.access)
            # Whose principals may get the tenant's credentials (genai_hub.access.vend).
            "spoke_account_id": tenant["spoke"]["account_id"],
            "access_principals": tenant["spoke"].get("principals", []),
            "default_models": tenant["default_models"],
            "status": "PENDING",
            "execution": execution,
            "requested_by": tenant["requested_by"],
            "created_at": now(),
            "updated_at": now(),
            **({"chapters": chapters} if chapters else {}),
        }),
        ConditionExpression="attribute_not_exists(pk) OR #st IN (:failed, :offboarded) OR #ex = :ex",
        ExpressionAttributeNames={"#st": "status", "#ex": "execution"},
        ExpressionAttributeValues={":failed": {"S": "FAILED"}, ":offboarded": {"S": "OFFBOARDED"}, ":ex": {"S": execution}},
    )


def get_tenant(tenant_id: str) -> dict:
    tenant = get_item({"pk": tenant_pk(tenant_id), "sk": "META"})
    if not tenant:
        raise TenantNotFound(f"no tenant {tenant_id!r} in the registry")
    return tenant


def update_item(key: dict, fields: dict, *, condition: str | None = None, names: dict | None = None,
                values: dict | None = None) -> None:
    """SET `fields` (and updated_at) on an existing item; `condition` (with its own names and plain
    values) must hold too."""
    fields = {**fields, "updated_at": now()}
    expression_names = {**{f"#f{i}": k for i, k in enumerate(fields)}, **(names or {})}
    expression_values = {f":v{i}": v for i, v in enumerate(fields.values())}
    expression_values.update(values or {})
    _ddb().update_item(
        TableName=config.registry_table(), Key=to_item(key),
        UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
        ConditionExpression="attribute_exists(pk)" + (f" AND ({condition})" if condition else ""),
        ExpressionAttributeNames=expression_names,
        # Serialized one by one: unlike to_item, a None value is written as NULL, never dropped.
        ExpressionAttributeValues={k: _ser.serialize(v) for k, v in expression_values.items()},
    )


def put_new(item: dict) -> bool:
    """Write `item` unless an item with its key exists; False when one does (someone wrote it first)."""
    try:
        _ddb().put_item(TableName=config.registry_table(), Item=to_item({**item, "created_at": now()}),
                        ConditionExpression="attribute_not_exists(pk)")
        return True
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


def update_tenant(tenant_id: str, fields: dict, *, expect_status: str | None = None) -> None:
    key = {"pk": tenant_pk(tenant_id), "sk": "META"}
    if expect_status:
        update_item(key, fields, condition="#status = :expected", names={"#status": "status"}, values={":expected": expect_status})
    else:
        update_item(key, fields)


def _query(**kwargs) -> list[dict]:
    return [from_item(i) for page in _ddb().get_paginator("query").paginate(**kwargs) for i in page.get("Items", [])]


def tenant_items(tenant_id: str, prefix: str) -> list[dict]:
    return partition_items(tenant_pk(tenant_id), prefix)


def partition_items(pk: str, prefix: str = "") -> list[dict]:
    """Items of one partition whose sk starts with `prefix` (all of them for "": DynamoDB refuses an
    empty key-condition value)."""
    values = {":pk": {"S": pk}, **({":prefix": {"S": prefix}} if prefix else {})}
    return _query(
        TableName=config.registry_table(),
        KeyConditionExpression="pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else ""),
        ExpressionAttributeValues=values,
        ConsistentRead=True,
    )


def index_items(key: str) -> list[dict]:
    """Every item whose gsi1pk is `key`, in gsi1sk order (one paged Query on the ByModel index)."""
    return _query(TableName=config.registry_table(), IndexName="ByModel", KeyConditionExpression="gsi1pk = :k",
                  ExpressionAttributeValues={":k": {"S": key}})


def _model_index(model_id: str) -> dict:
    return {"TableName": config.registry_table(), "IndexName": "ByModel", "KeyConditionExpression": "gsi1pk = :m",
            "ExpressionAttributeValues": {":m": {"S": f"MODEL#{model_id}"}}}


def model_grants(model_id: str) -> list[dict]:
    """Every tenant's grant of a model version: one query on the ByModel index, never a scan."""
    return _query(**_model_index(model_id))


def model_is_granted(model_id: str) -> bool:
    """Whether any tenant holds the model: one item read, whatever the number of grants."""
    return bool(_ddb().query(**_model_index(model_id), Limit=1)["Items"])


def get_item(key: dict) -> dict | None:
    item = _ddb().get_item(TableName=config.registry_table(), Key=to_item(key), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def get_tenants(tenant_ids: list[str]) -> dict[str, dict]:
    """Tenant records by id (BatchGetItem, 100 at a time); unknown ids are left out."""
    found, table = {}, config.registry_table()
    for start in range(0, len(tenant_ids), 100):
        pending = {table: {"Keys": [to_item({"pk": tenant_pk(t), "sk": "META"}) for t in tenant_ids[start:start + 100]],
                           "ConsistentRead": True}}
        while pending:
            response = _ddb().batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table, []):
                tenant = from_item(item)
                found[tenant["tenant_id"]] = tenant
            pending = response.get("UnprocessedKeys") or {}
    return found


def put_items(items: list[dict]) -> None:
    """Write items in batches of 25 (BatchWriteItem), retrying what DynamoDB leaves unprocessed."""
    table = config.registry_table()
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": to_item(i)}} for i in items[start:start + 25]]
        _batch_write(table, requests)


def delete_items(keys: list[dict]) -> None:
    table = config.registry_table()
    for start in range(0, len(keys), 25):
        requests = [{"DeleteRequest": {"Key": to_item(k)}} for k in keys[start:start + 25]]
        _batch_write(table, requests)


def _batch_write(table: str, requests: list) -> None:
    pending = {table: requests}
    while pending:
        pending = _ddb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def release_lock(tenant_id: str, execution: str) -> bool:
    """Drop the onboarding lock this execution holds, so that a corrected request can run again."""
    try:
        _ddb().delete_item(
            TableName=config.registry_table(),
            Key=to_item({"pk": tenant_pk(tenant_id), "sk": "LOCK"}),
            ConditionExpression="#ex = :ex",
            ExpressionAttributeNames={"#ex": "execution"},
            ExpressionAttributeValues={":ex": {"S": execution}},
        )
        return True
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


def reopen_lock(tenant_id: str) -> None:
    """Let a new onboarding request take the tenant's onboarding lock again (after offboarding): the
    lock keeps the ids of the events that took it, so a replayed old event still finds it taken."""
    try:
        _ddb().update_item(
            TableName=config.registry_table(), Key=to_item({"pk": tenant_pk(tenant_id), "sk": "LOCK"}),
            UpdateExpression="SET reopened = :true", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":  # no lock: nothing to reopen
            raise
