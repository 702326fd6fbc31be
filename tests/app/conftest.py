import shutil

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings
from models.artifacts.registry import ArtifactStore


@pytest.fixture(scope="session")
def client(trained_root):
    """An API over the trained store; tests that change the store use `private_client`."""
    with TestClient(create_app(ApiSettings(artifact_root=trained_root))) as test_client:
        yield test_client


@pytest.fixture()
def private_store(trained_root, tmp_path):
    shutil.copytree(trained_root, tmp_path / "store")
    return ArtifactStore(tmp_path / "store")


@pytest.fixture()
def private_client(private_store):
    settings = ApiSettings(artifact_root=private_store.root, reload_interval_s=0.1)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def republish(store: ArtifactStore, name: str, version: int = 1, **overrides) -> int:
    """Publish a copy of an existing version as a new one (a real, loadable version)."""
    source = store.get(name, version)
    metadata = {k: v for k, v in source.metadata.items() if k not in ("name", "version", "files")}
    with store.stage(name) as staging:
        for filename in source.metadata["files"]:
            (staging / filename).parent.mkdir(parents=True, exist_ok=True)  # figures/
            shutil.copy(source.file(filename), staging / filename)
        for filename, content in overrides.items():
            (staging / filename.replace("_", ".")).write_bytes(content)
        return store.publish(name, staging, metadata).version


LIVE_TOKEN = "live-api-token"


@pytest.fixture(scope="session")
def live_api(trained_root, tmp_path_factory):
    """A real uvicorn API over a private copy of the trained store, with a token and the
    embedded job queue (no worker: jobs stay queued); (base URL, store root)."""
    from tests.helpers import api_process, private_api_environment

    folder = tmp_path_factory.mktemp("live-api")
    environment = private_api_environment(trained_root, folder, LIVE_TOKEN)
    with api_process(folder, environment, "--log-level", "warning") as (base, _):
        yield base, folder / "store"
