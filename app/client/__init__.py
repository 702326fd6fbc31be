"""A typed Python client for the handcalc API, sync and async, over httpx.

    from app.client import Client

    with Client("http://127.0.0.1:8000") as handcalc:
        print(handcalc.classify("examples/7.png").digit)                  # 7
        print(handcalc.add("examples/386.png", "examples/5094.png").result)  # 5480

Images may be paths, bytes, PIL images or numpy arrays. Every error status raises
`ApiError` with the API's `detail`; no answer at all raises `Unreachable`. It imports
httpx, numpy, PIL and pydantic, never the API's own modules.
"""

from app.client.clients import AsyncClient, Client
from app.client.errors import ApiError, Unreachable

__all__ = ["ApiError", "AsyncClient", "Client", "Unreachable"]
