"""The S3 artifact store against a real S3 API server (moto in server mode), over HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from models.artifacts.registry import ArtifactStore, Conflict, CorruptVersion, NotFound, file_digest
from models.artifacts.s3_store import S3ArtifactStore, StoreUnavailable, split_url
from tests.helpers import free_port, s3_client, s3_server

BUCKET = "handcalc-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture()
def s3_store(s3_endpoint, tmp_path, request):
    client = s3_client(s3_endpoint)
    bucket = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    client.create_bucket(Bucket=bucket)
    return S3ArtifactStore(f"s3://{bucket}/models", tmp_path / "cache", client=client)


def _publish(store, name: str, content: bytes, **metadata) -> int:
    with store.stage(name) as staging:
        (staging / "model.tflite").write_bytes(content)
        return store.publish(name, staging, {"kind": "classifier", **metadata}).version


def test_seeding_from_a_folder_store_keeps_versions_aliases_and_bytes(s3_store, trained_root):
    local = ArtifactStore(trained_root)
    assert sorted(s3_store.seed(trained_root)) == local.names()
    assert s3_store.names() == local.names()
    for name in local.names():
        assert s3_store.active_version(name) == local.active_version(name)
        assert s3_store.kind_of(name) == local.kind_of(name)
        remote = s3_store.resolve(name)
        for filename, digest in remote.metadata["files"].items():
            assert file_digest(remote.file(filename)) == digest
            assert digest == local.resolve(name).metadata["files"][filename]
    assert s3_store.seed(trained_root) == []  # a store that has them is left alone


def test_every_staged_file_is_uploaded_sub_folders_too(s3_store, tmp_path):
    with s3_store.stage("vae") as staging:
        (staging / "model.tflite").write_bytes(b"weights")
        (staging / "figures").mkdir()
        (staging / "figures" / "samples.png").write_bytes(b"png bytes")
        s3_store.publish("vae", staging, {"kind": "vae", "figures": ["samples"]})
    reader = S3ArtifactStore(s3_store.url, tmp_path / "fresh-cache", client=s3_store.client)
    fetched = reader.get("vae", 1)  # downloaded and checked against the manifest
    assert fetched.file("figures/samples.png").read_bytes() == b"png bytes"
    assert sorted(fetched.metadata["files"]) == ["figures/samples.png", "model.tflite"]


def test_a_version_is_visible_only_once_its_manifest_is_written(s3_store):
    assert _publish(s3_store, "digits", b"first") == 1
    # a publisher that died after uploading its files, before its manifest
    s3_store.client.put_object(
        Bucket=s3_store.bucket, Key="models/digits/blobs/" + "0" * 64, Body=b"orphan"
    )
    assert [v.version for v in s3_store.versions("digits")] == [1]
    with pytest.raises(NotFound):
        s3_store.get("digits", 2)
    assert _publish(s3_store, "digits", b"second") == 2


def test_concurrent_publishers_never_share_a_number(s3_store):
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda i: _publish(s3_store, "race", f"m{i}".encode()), range(16)))
    assert sorted(numbers) == list(range(1, 17))
    contents = {s3_store.get("race", n).file("model.tflite").read_bytes() for n in numbers}
    assert contents == {f"m{i}".encode() for i in range(16)}


def test_the_alias_moves_by_compare_and_swap_and_is_polled_cheaply(s3_store):
    for content in (b"a", b"b", b"c"):
        _publish(s3_store, "alias", content)
    assert s3_store.active_version("alias") is None
    s3_store.activate("alias", 1)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda v: s3_store.activate("alias", v), [2, 3, 2, 3, 2, 3]))
    assert s3_store.active_version("alias") in (2, 3)
    etag_before = s3_store._aliases["alias"][0]
    assert s3_store.active_version("alias") == s3_store.active_version("alias")  # 304s
    assert s3_store._aliases["alias"][0] == etag_before
    other = S3ArtifactStore(s3_store.url, s3_store.root.parent / "other", client=s3_store.client)
    other.activate("alias", 1)  # another host rolls back
    assert s3_store.active_version("alias") == 1


def test_delete_keeps_the_rules_and_removes_unused_files(s3_store):
    _publish(s3_store, "base", b"base-1")
    _publish(s3_store, "base", b"base-2")
    _publish(s3_store, "head", b"head-1", lineage={"base": 1})
    s3_store.activate("base", 2)
    with pytest.raises(Conflict, match="active"):
        s3_store.delete("base", 2)
    with pytest.raises(Conflict, match="lineage of head v1"):
        s3_store.delete("base", 1)
    s3_store.delete("head", 1)
    s3_store.delete("base", 1)
    assert [v.version for v in s3_store.versions("base")] == [2]
    blobs = s3_store.client.list_objects_v2(Bucket=s3_store.bucket, Prefix="models/base/blobs/")
    assert len(blobs["Contents"]) == 1  # base v1's file went with it
    with pytest.raises(NotFound):
        s3_store.delete("base", 1)


def test_a_kind_clash_is_refused(s3_store):
    _publish(s3_store, "named", b"x")
    with pytest.raises(Conflict, match="of kind classifier"), s3_store.stage("named") as staging:
        (staging / "model.tflite").write_bytes(b"y")
        s3_store.publish("named", staging, {"kind": "vae"})


def test_altered_files_are_never_loaded(s3_store):
    _publish(s3_store, "tampered", b"genuine")
    digest = s3_store.get("tampered", 1).metadata["files"]["model.tflite"]
    cached = s3_store.root / "tampered" / "1"
    cached_copy = cached / "model.tflite"
    cached_copy.write_bytes(b"altered on disk")
    with pytest.raises(CorruptVersion, match="altered"):
        s3_store.get("tampered", 1)
    key = "models/tampered/blobs/" + digest.removeprefix("sha256:")
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=key, Body=b"altered in the bucket")
    with pytest.raises(CorruptVersion, match="does not match its digest"):
        s3_store.get("tampered", 1)
    assert not cached.exists()  # nothing half-checked was left to load
    manifest = json.loads(
        s3_store.client.get_object(Bucket=s3_store.bucket, Key="models/tampered/versions/1.json")[
            "Body"
        ].read()
    )
    assert manifest["files"]["model.tflite"] == digest


def test_an_unreachable_store_says_so(tmp_path):
    client = s3_client(f"http://127.0.0.1:{free_port()}")
    store = S3ArtifactStore("s3://nowhere/models", tmp_path, client=client)
    with pytest.raises(StoreUnavailable, match="cannot"):
        store.names()
    with pytest.raises(StoreUnavailable):
        store.active_version("classifier")


def test_urls():
    assert split_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_url("s3://bucket") == ("bucket", "")
    for bad in ("http://x/y", "s3://", "/tmp/store"):
        with pytest.raises(ValueError):
            split_url(bad)
