import json
import subprocess
import sys
import textwrap

import pytest

from models.artifacts.registry import (
    ArtifactStore,
    Conflict,
    CorruptVersion,
    InvalidName,
    NotFound,
    RegistryError,
)


def _publish(store, name, payload=b"weights", lineage=None):
    with store.stage(name) as staging:
        (staging / "model.tflite").write_bytes(payload)
        return store.publish(name, staging, {"metrics": {}, "lineage": lineage or {}})


def test_versions_count_up_and_hold_metadata(tmp_path):
    store = ArtifactStore(tmp_path)
    first, second = _publish(store, "classifier", b"a"), _publish(store, "classifier", b"b")
    assert (first.version, second.version) == (1, 2)
    assert [v.version for v in store.versions("classifier")] == [1, 2]
    loaded = store.get("classifier", 2)
    assert loaded.file("model.tflite").read_bytes() == b"b"
    assert loaded.metadata["name"] == "classifier" and loaded.metadata["version"] == 2
    assert loaded.metadata["files"]["model.tflite"].startswith("sha256:")
    assert "created" in loaded.metadata
    assert not [p for p in (tmp_path / "classifier").iterdir() if p.name.startswith(".")]


def test_activate_promotes_and_rolls_back(tmp_path):
    store = ArtifactStore(tmp_path)
    assert store.active_version("add") is None
    with pytest.raises(NotFound, match="no active version"):
        store.resolve("add")
    _publish(store, "add"), _publish(store, "add")
    store.activate("add", 2)
    assert store.resolve("add").version == 2
    store.activate("add", "1")
    assert store.resolve("add").version == 1
    with pytest.raises(NotFound, match="has no version 7"):
        store.activate("add", 7)


def test_failed_staging_leaves_nothing(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(RuntimeError), store.stage("classifier") as staging:
        (staging / "model.tflite").write_bytes(b"half")
        raise RuntimeError("crashed mid-write")
    assert store.versions("classifier") == []
    assert list((tmp_path / "classifier").iterdir()) == []


def test_delete_refuses_active_and_referenced_versions(tmp_path):
    store = ArtifactStore(tmp_path)
    _publish(store, "autoencoder"), _publish(store, "autoencoder"), _publish(store, "autoencoder")
    _publish(store, "add", lineage={"autoencoder": 1})
    store.activate("autoencoder", 2)
    with pytest.raises(Conflict, match="autoencoder v2 is the active version"):
        store.delete("autoencoder", 2)
    with pytest.raises(Conflict, match="autoencoder v1 is in the lineage of add v1"):
        store.delete("autoencoder", 1)
    store.delete("autoencoder", 3)
    assert [v.version for v in store.versions("autoencoder")] == [1, 2]
    with pytest.raises(NotFound):
        store.delete("autoencoder", 3)
    # numbers are never reused
    assert _publish(store, "autoencoder").version == 3


@pytest.mark.parametrize("name", ["../etc", "Add", "", "a/b", "..", "x" * 80, "add\x00"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(InvalidName, match="invalid model name"):
        ArtifactStore(tmp_path).versions(name)


@pytest.mark.parametrize("version", ["0", "-1", "01", "1.5", "../1", "latest", "9999999999"])
def test_bad_versions_are_refused(tmp_path, version):
    with pytest.raises(InvalidName, match="invalid version"):
        ArtifactStore(tmp_path).get("add", version)


def test_corrupt_versions_are_skipped_and_never_loaded(tmp_path):
    store = ArtifactStore(tmp_path)
    for _ in range(4):
        _publish(store, "compare")
    (tmp_path / "compare" / "1" / "metadata.json").unlink()
    (tmp_path / "compare" / "2" / "metadata.json").write_text("{not json")
    (tmp_path / "compare" / "3" / "model.tflite").write_bytes(b"tampered")
    assert [v.version for v in store.versions("compare")] == [3, 4]  # 3 looks fine until read
    with pytest.raises(CorruptVersion, match="metadata.json is missing"):
        store.get("compare", 1)
    with pytest.raises(CorruptVersion, match="unreadable"):
        store.get("compare", 2)
    with pytest.raises(CorruptVersion, match="does not match its digest"):
        store.get("compare", 3)
    assert store.get("compare", 4).version == 4
    (tmp_path / "compare" / "4" / "model.tflite").unlink()
    with pytest.raises(CorruptVersion, match="model.tflite is missing"):
        store.get("compare", 4)


def test_metadata_that_names_another_version_is_corrupt(tmp_path):
    store = ArtifactStore(tmp_path)
    _publish(store, "add")
    path = tmp_path / "add" / "1" / "metadata.json"
    record = json.loads(path.read_text())
    record["version"] = 9
    path.write_text(json.dumps(record))
    with pytest.raises(CorruptVersion, match="describes 'add' v9"):
        store.get("add", 1)


def test_publish_refuses_foreign_or_empty_folders(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(RegistryError, match="not a staging folder"):
        store.publish("add", tmp_path, {})
    with pytest.raises(RegistryError, match="empty"), store.stage("add") as staging:
        store.publish("add", staging, {})


def test_concurrent_publishers_get_distinct_versions(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from models.artifacts.registry import ArtifactStore
        store = ArtifactStore({str(tmp_path)!r})
        for index in range(15):
            with store.stage("add") as staging:
                (staging / "model.tflite").write_bytes(f"{{sys.argv[1]}}-{{index}}".encode())
                store.publish("add", staging, {{"writer": sys.argv[1]}})
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(writer)]) for writer in range(4)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    store = ArtifactStore(tmp_path)
    versions = store.versions("add")
    assert [v.version for v in versions] == list(range(1, 61))
    payloads = {store.get("add", v.version).file("model.tflite").read_bytes() for v in versions}
    assert len(payloads) == 60  # every write landed exactly once, none overwritten


def test_clean_staging_removes_leftovers_of_crashed_writers(tmp_path):
    store = ArtifactStore(tmp_path)
    _publish(store, "add")
    leftover = tmp_path / "add" / ".staging-crashed"
    leftover.mkdir()
    (leftover / "model.tflite").write_bytes(b"half")
    assert store.clean_staging(older_than_s=-1) == 1
    assert not leftover.exists()
    assert [v.version for v in store.versions("add")] == [1]


def test_a_version_keeps_files_in_sub_folders_and_only_inside_itself(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.stage("vae") as staging:
        (staging / "model.tflite").write_bytes(b"weights")
        (staging / "figures").mkdir()
        (staging / "figures" / "samples.png").write_bytes(b"png")
        published = store.publish("vae", staging, {"figures": ["samples"]})
    assert sorted(published.metadata["files"]) == ["figures/samples.png", "model.tflite"]
    assert store.get("vae", 1).file("figures/samples.png").read_bytes() == b"png"
    (tmp_path / "vae" / "1" / "figures" / "samples.png").write_bytes(b"other")
    with pytest.raises(CorruptVersion, match="figures/samples.png does not match its digest"):
        store.get("vae", 1)

    metadata_file = tmp_path / "vae" / "1" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["files"]["../../secret"] = metadata["files"].pop("model.tflite")
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(CorruptVersion, match="lists a file outside it"):
        store.get("vae", 1, verify=False)


def test_replacing_figures_keeps_every_other_file_and_checks_what_it_is_given(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.stage("vae") as staging:
        (staging / "model.tflite").write_bytes(b"weights")
        (staging / "figures").mkdir()
        (staging / "figures" / "old.png").write_bytes(b"old")
        store.publish("vae", staging, {"figures": ["old"], "metrics": {"x": 1.0}})
    before = store.get("vae", 1).metadata
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    (drawn / "samples.png").write_bytes(b"new")
    with pytest.raises(RegistryError, match="no manifold in"):
        store.replace_figures("vae", 1, drawn, ["samples", "manifold"])
    after = store.replace_figures("vae", 1, drawn, ["samples"])
    assert store.get("vae", 1).metadata == after.metadata  # verified on disk
    assert after.metadata["figures"] == ["samples"]
    assert sorted(after.metadata["files"]) == ["figures/samples.png", "model.tflite"]
    assert after.metadata["files"]["model.tflite"] == before["files"]["model.tflite"]
    assert {k: v for k, v in after.metadata.items() if k not in ("files", "figures")} == {
        k: v for k, v in before.items() if k not in ("files", "figures")
    }
    assert not (tmp_path / "vae" / "1" / "figures" / "old.png").exists()
    assert not [p for p in (tmp_path / "vae").iterdir() if p.name.startswith(".")]
