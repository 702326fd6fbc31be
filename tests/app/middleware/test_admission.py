"""Bounded admission against a real uvicorn process: beyond the bound, an immediate 503."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import api_process, image_bytes

MAX_IN_FLIGHT = 4


@pytest.fixture(scope="module")
def narrow_server(trained_root, tmp_path_factory):
    environment = {
        "HANDCALC_ARTIFACT_ROOT": str(trained_root),
        "HANDCALC_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
    }
    folder = tmp_path_factory.mktemp("admission")
    with api_process(folder, environment, "--no-access-log") as (base, _log):
        yield base


def test_overload_is_refused_at_once_and_admitted_requests_are_answered(narrow_server, digits):
    images, labels = digits
    uploads = [image_bytes(image) for image in images[:16]]

    async def one(client: httpx.AsyncClient, index: int) -> tuple[int, httpx.Response]:
        response = await client.post(
            f"{narrow_server}/classify", files={"image": uploads[index % len(uploads)]}
        )
        return index % len(uploads), response

    async def storm() -> list[tuple[int, httpx.Response]]:
        limits = httpx.Limits(max_connections=128)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            return await asyncio.gather(*(one(client, index) for index in range(256)))

    answers = asyncio.run(storm())
    statuses = [response.status_code for _index, response in answers]
    assert set(statuses) <= {200, 503}, set(statuses)
    assert statuses.count(503) > 0 and statuses.count(200) > 0
    for index, response in answers:
        if response.status_code == 200:
            assert response.json()["digit"] == labels[index]
        else:
            assert response.headers["retry-after"] == "1"
            assert "at capacity (4 requests in progress" in response.json()["detail"]
    # health probes are always admitted, and the process serves normally afterwards
    assert httpx.get(f"{narrow_server}/readyz").status_code == 200
    calm = httpx.post(f"{narrow_server}/classify", files={"image": uploads[0]})
    assert calm.status_code == 200 and calm.json()["digit"] == labels[0]
