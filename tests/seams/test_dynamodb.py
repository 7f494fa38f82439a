"""Seam tests of hubsim/patches/dynamodb.py: atomic conditional writes, partition-only queries,
wire-format responses.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import threading
import time

import boto3
from botocore.exceptions import ClientError


def test_concurrent_conditional_puts_let_exactly_one_writer_win(engine, monkeypatch):
    # Given a table and 24 writers racing for the same key with attribute_not_exists, and moto's
    # window between reading the current item and writing widened (parsing the condition takes a
    # while): without the patch several writers pass the condition
    from moto.dynamodb.models import table as moto_table

    parse = moto_table.get_filter_expression

    def slow_parse(*args, **kwargs):
        time.sleep(0.005)
        return parse(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", slow_parse)
    ddb = engine.client("dynamodb")
    ddb.create_table(TableName="seam-locks", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    barrier, outcomes = threading.Barrier(24, timeout=10), []

    def race(n):
        client = boto3.client("dynamodb", region_name="us-east-1")
        barrier.wait()
        try:
            client.put_item(TableName="seam-locks", Item={"pk": {"S": "LOCK"}, "writer": {"N": str(n)}},
                            ConditionExpression="attribute_not_exists(pk)")
            outcomes.append(("won", n))
        except ClientError as error:
            outcomes.append((error.response["Error"]["Code"], n))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then exactly one write won, the others were refused, and the item is the winner's
    winners = [n for outcome, n in outcomes if outcome == "won"]
    assert len(outcomes) == 24 and len(winners) == 1
    assert {o for o, _ in outcomes if o != "won"} == {"ConditionalCheckFailedException"}
    item = ddb.get_item(TableName="seam-locks", Key={"pk": {"S": "LOCK"}})["Item"]
    assert item["writer"]["N"] == str(winners[0])


def _partitioned_table(ddb, name: str, partitions: int, per_partition: int) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g", "gs")],
                     GlobalSecondaryIndexes=[{"IndexName": "ByG", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                         {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]}])
    for p in range(partitions):
        for n in reversed(range(per_partition)):
            item = {"pk": {"S": f"P#{p:03d}"}, "sk": {"S": f"S#{n:03d}"}}
            if n % 2 == 0:
                item.update(g={"S": f"G#{n % 4}"}, gs={"S": f"P#{p:03d}"})
            ddb.put_item(TableName=name, Item=item)


def test_a_query_reads_its_partition_only(engine, monkeypatch):
    # Given a table of 300 partitions x 10 items, with a GSI over half of them
    ddb = engine.client("dynamodb")
    _partitioned_table(ddb, "seam-partitions", 300, 10)
    from moto.dynamodb.models.dynamo_type import DynamoType

    comparisons = []
    original_lt = DynamoType.__lt__

    def counting_lt(self, other):
        comparisons.append(1)
        return original_lt(self, other)

    monkeypatch.setattr(DynamoType, "__lt__", counting_lt)

    # When one partition is queried, forwards, backwards and by prefix
    forward = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P#123"}})
    backward = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p", ScanIndexForward=False, Limit=3,
                         ExpressionAttributeValues={":p": {"S": "P#123"}})
    prefix = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                       ExpressionAttributeValues={":p": {"S": "P#007"}, ":s": {"S": "S#00"}})

    # Then the results are DynamoDB's, and only that partition was sorted (moto sorted all 3,000 items)
    assert [i["sk"]["S"] for i in forward["Items"]] == [f"S#{n:03d}" for n in range(10)]
    assert [i["sk"]["S"] for i in backward["Items"]] == ["S#009", "S#008", "S#007"] and "LastEvaluatedKey" in backward
    assert [i["sk"]["S"] for i in prefix["Items"]] == [f"S#{n:03d}" for n in range(10)]
    assert len(comparisons) < 500, f"{len(comparisons)} comparisons for three queries of 10-item partitions"

    # And an index query still finds its items across partitions, in index order, page by page
    found, kwargs = [], {"TableName": "seam-partitions", "IndexName": "ByG", "KeyConditionExpression": "g = :g",
                         "ExpressionAttributeValues": {":g": {"S": "G#2"}}, "Limit": 100}
    while True:
        page = ddb.query(**kwargs)
        found += [(i["gs"]["S"], i["sk"]["S"]) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert found == sorted((f"P#{p:03d}", f"S#{n:03d}") for p in range(300) for n in (2, 6))


def test_data_plane_responses_are_serialized_as_moto_would(engine, monkeypatch):
    from moto.dynamodb.responses import DynamoResult

    from hubsim.patches import dynamodb as dynamodb_patch

    ddb = engine.client("dynamodb")
    _partitioned_table(ddb, "seam-wire", 3, 4)
    every_type = {"pk": {"S": "P#001"}, "sk": {"S": "S#typed"}, "n": {"N": "12.50"}, "b": {"B": b"\x00\xff"}, "t": {"BOOL": True},
                  "z": {"NULL": True}, "l": {"L": [{"S": "x"}, {"N": "1"}]}, "m": {"M": {"k": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}}},
                  "bs": {"BS": [b"a"]}}

    def calls() -> list[dict]:
        key = {"pk": every_type["pk"], "sk": every_type["sk"]}
        responses = [
            ddb.put_item(TableName="seam-wire", Item=every_type, ReturnValues="ALL_OLD"),
            ddb.get_item(TableName="seam-wire", Key=key, ConsistentRead=True),
            ddb.update_item(TableName="seam-wire", Key=key, UpdateExpression="SET n = n + :one", ReturnValues="ALL_NEW",
                            ExpressionAttributeValues={":one": {"N": "1"}}),
            ddb.query(TableName="seam-wire", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": every_type["pk"]}, Limit=2),
            ddb.batch_get_item(RequestItems={"seam-wire": {"Keys": [key, {"pk": {"S": "P#002"}, "sk": {"S": "S#000"}}]}}),
            ddb.batch_write_item(RequestItems={"seam-wire": [{"PutRequest": {"Item": {"pk": {"S": "P#009"}, "sk": {"S": "S#0"}}}}]}),
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "seam-wire", "Item": {"pk": {"S": "P#008"}, "sk": {"S": "S#0"}}}}]),
            ddb.delete_item(TableName="seam-wire", Key=key, ReturnValues="ALL_OLD"),
        ]
        for response in responses:
            response.pop("ResponseMetadata")
        return responses

    # When the same calls run with moto's serializer and with the wire-format shortcut
    fast = calls()
    monkeypatch.setattr(DynamoResult, "execute_result", dynamodb_patch._originals["execute_result"])
    ddb.delete_table(TableName="seam-wire")
    _partitioned_table(ddb, "seam-wire", 3, 4)
    moto_serialized = calls()

    # Then every response is the same, types included
    assert fast == moto_serialized
    assert fast[2]["Attributes"]["n"] == {"N": "13.50"} and fast[1]["Item"]["b"] == {"B": b"\x00\xff"}
