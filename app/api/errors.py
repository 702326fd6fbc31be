"""What every error looks like, documented in the OpenAPI schema as it is sent.

Every 4xx and 5xx handcalc sends is `{"detail": "<one readable sentence>"}`: the
validation handler in `app.main` flattens FastAPI's list of problems into one string,
so the schema says so too, and each router lists the statuses its routes can answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


EVERY_ROUTE = {
    400: _error("The body is not well-formed for its content type (e.g. broken multipart)."),
    413: _error("The body, or one upload in it, is over its size limit."),
    503: _error("The process is at capacity (retry after `Retry-After` seconds)."),
}
PROTECTED = {
    401: _error("No token, or the wrong one."),
    403: _error("Training and model management are off: HANDCALC_API_TOKEN is unset."),
}
NAMED_MODEL = {
    404: _error("No model of that name; `detail` lists the names that answer the route."),
    422: _error("The input is not valid, or the named model's kind cannot answer this route."),
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` describe 422s (and every other error) as `ErrorBody`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = ErrorBody.model_json_schema()
                schemas["HTTPValidationError"]["title"] = "HTTPValidationError"
                schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
