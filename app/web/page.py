"""Serving the page: `GET /` (index.html) and its modules and styles under `/static`.

No build step and nothing from elsewhere: the Content-Security-Policy lets the page
load and fetch only from this origin (and show the PNGs it fetched, as blob: URLs).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


def mount(app: FastAPI) -> None:
    """Add the page and its static files to the app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
