"""An in-memory stand-in for the sign-out table (app/contracts/signouts.py), for tests without moto."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

TABLE = "t-signouts"


class FakeTable:
    """PutItem and GetItem of one table, counting reads; ``failing`` makes reads raise."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.reads = 0
        self.failing = False

    def put_item(self, *, TableName: str, Item: dict[str, Any]) -> None:
        assert TableName == TABLE
        self.items[Item["sub"]["S"]] = Item

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        assert TableName == TABLE
        self.reads += 1
        if self.failing:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")
        item = self.items.get(Key["sub"]["S"])
        return {"Item": item} if item else {}
