"""Job records in a folder and in a real Redis: order, pages, expiry and an unreachable server."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from app.jobs.records import (
    BrokerUnavailable,
    FileJobRecords,
    RedisJobRecords,
    UnknownJob,
    job_records,
    redact,
)
from models.settings import Settings
from tests.helpers import free_port

REDIS_URL = "redis://127.0.0.1:6379/12"  # the records tests' own database, emptied around each


def _records(count: int) -> list[dict]:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    return [
        {
            "id": uuid.uuid4().hex,
            "spec": {"model": "classifier", "params": {"epochs": index + 1}},
            "submitted": (start + timedelta(seconds=index)).isoformat(timespec="milliseconds"),
        }
        for index in range(count)
    ]


@pytest.fixture(params=["files", "redis"])
def records(request, tmp_path):
    if request.param == "files":
        yield FileJobRecords(tmp_path / "jobs")
        return
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    store = RedisJobRecords(REDIS_URL, ttl_s=60)
    try:
        yield store
    finally:
        store.close()
        client.flushdb()
        client.close()


def test_records_come_back_newest_first_a_page_at_a_time(records):
    written = _records(7)
    for record in reversed(written):  # the order of writing does not matter
        records.add(record)
    newest_first = [record["id"] for record in reversed(written)]
    assert [r["id"] for r in records.page(3)] == newest_first[:3]
    assert [r["id"] for r in records.page(3, offset=3)] == newest_first[3:6]
    assert [r["id"] for r in records.page(3, offset=6)] == newest_first[6:]
    assert records.page(3, offset=7) == []
    assert records.get(written[2]["id"]) == written[2]


def test_unknown_and_malformed_ids_are_unknown_jobs(records):
    with pytest.raises(UnknownJob):
        records.get(uuid.uuid4().hex)
    for bad in ("../../etc/passwd", "ABC", "0" * 31, "g" * 32):
        with pytest.raises(UnknownJob):
            records.get(bad)


def test_expired_redis_records_leave_the_listing():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    store = RedisJobRecords(REDIS_URL, ttl_s=1)
    try:
        old, new = _records(2)
        store.add(old)
        time.sleep(1.2)
        store.add(new)
        assert [r["id"] for r in store.page(10)] == [new["id"]]
        assert client.zcard(store.index_key) == 1  # the expired id was dropped from the index
        with pytest.raises(UnknownJob):
            store.get(old["id"])
    finally:
        store.close()
        client.flushdb()
        client.close()


def test_an_unreachable_redis_is_reported_within_a_second():
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    store = RedisJobRecords(url, ttl_s=60)
    for call in (store.check, lambda: store.page(10), lambda: store.add(_records(1)[0])):
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable) as error:
            call()
        assert time.monotonic() - started < 1.0
        assert "cannot be reached" in str(error.value)
        assert "secret" not in str(error.value)  # the password is never shown


def test_records_follow_the_result_backend(tmp_path):
    assert isinstance(job_records(Settings(state_dir=tmp_path)), FileJobRecords)
    redis_records = job_records(Settings(state_dir=tmp_path, broker_url=REDIS_URL))
    assert isinstance(redis_records, RedisJobRecords)
    assert redis_records.url == REDIS_URL
    redis_records.close()


def test_redact_hides_passwords_only():
    assert redact("redis://:pw@host:6379/0") == "redis://***@host:6379/0"
    assert redact("rediss://user:pw@host/1") == "rediss://user:***@host/1"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
