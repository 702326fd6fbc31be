"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.jobs.broker import JobClient
from app.serving.server import ModelServer
from app.settings import ApiSettings
from models.artifacts.names import NAME_PATTERN, NAME_RULE

_bearer = HTTPBearer(auto_error=False, description="The value of HANDCALC_API_TOKEN.")

# The dependencies are coroutines, although none awaits: FastAPI runs a plain `def`
# dependency in the thread pool, and two such trips per request cost /classify and /add
# a sixth of the event loop's time under load (py-spy, wrk -c32 on /add).


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


async def get_server(request: Request) -> ModelServer:
    return request.app.state.server


async def get_jobs(request: Request) -> JobClient:
    return request.app.state.jobs


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ServerDep = Annotated[ModelServer, Depends(get_server)]
JobsDep = Annotated[JobClient, Depends(get_jobs)]


async def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Training and management need `Authorization: Bearer <HANDCALC_API_TOKEN>`."""
    if settings.api_token is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "training and model management are disabled: set HANDCALC_API_TOKEN for the API "
            "and send it as 'Authorization: Bearer <token>'",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing token: send 'Authorization: Bearer <HANDCALC_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.api_token.get_secret_value().encode()
    if not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong token", headers={"WWW-Authenticate": "Bearer"}
        )


Authorized = Depends(require_token)

ScaleQuery = Annotated[int, Query(ge=1, description="Enlarge the PNG this many times.")]
AcceptHeader = Annotated[
    str | None, Header(description="application/json for the pixels instead of a PNG.")
]


def model_query(default: str, route: str, description: str | None = None):
    """The `?model=NAME` parameter of an inference route: a registered name of a kind that
    answers it."""
    chosen = description or (
        f"Registered name of the model to answer with (default {default!r}): "
        f"one whose kind answers /{route}."
    )
    return Query(
        pattern=NAME_PATTERN, description=f"{chosen} {NAME_RULE[0].upper()}{NAME_RULE[1:]}."
    )
