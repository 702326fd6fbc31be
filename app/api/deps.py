"""Dependencies of the routes, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from app.serving import ModelServer
from app.settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def get_server(request: Request) -> ModelServer:
    return request.app.state.server


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ServerDep = Annotated[ModelServer, Depends(get_server)]
