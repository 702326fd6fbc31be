"""API-only settings, on top of what every handcalc process shares."""

from pydantic import Field, SecretStr

from models.settings import Settings


class ApiSettings(Settings):
    max_upload_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    """Largest accepted image file; bigger uploads get 413."""

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest request body, counted while it streams in: a larger Content-Length gets 413
    before any of it is read, and a chunked body is cut off with 413 once past it."""

    max_in_flight: int = Field(512, ge=1, le=100_000)
    """Requests one API process works on at once; one more gets 503 with Retry-After at once
    and its connection closed (health probes are always let in). Measured with `python -m
    bench.overload` (512 wrk clients, 2 cores): lower bounds answered fewer requests, later."""

    max_form_fields: int = Field(16, ge=1, le=10_000)
    """Most non-file fields in one multipart form (more: 400 naming the limit)."""

    max_pixels: int = Field(40_000_000, ge=784)
    """Largest accepted image in pixels, checked before decoding (decompression bombs)."""

    max_digits: int = Field(100, ge=1, le=10_000)
    """Most digits in one number sent to /read, /add, /multiply or /compare (more: 422)."""

    max_batch_images: int = Field(256, ge=1)
    """Most images in one batch request to /classify."""

    max_decode_scale: int = Field(16, ge=1, le=64)
    """Largest `scale` for the PNG that /decode returns (28 * scale pixels a side)."""

    reload_interval_s: float = Field(0.5, gt=0.0, le=60.0)
    """How often the API checks the store for a changed `active` alias."""

    inference_threads: int = Field(1, ge=1, le=64)
    """Threads each LiteRT interpreter may use (1 measured best with 2 API processes on 2 cores)."""

    batch_max_size: int = Field(64, ge=1, le=4096)
    """Most rows one micro-batched model call gathers from concurrent requests."""

    batch_max_wait_ms: float = Field(2.0, ge=0.0, le=1000.0)
    """Longest a request waits for others to share its model call."""

    access_log: bool = False
    """One log line per request (uvicorn's in the text format; in JSON, one with the request
    id, route, status and duration). Off by default: it cost /classify 3 to 14% of its
    requests/s at 32 clients (`python -m bench.load --access-log on,off`, three runs), and
    /metrics counts every request by route, status and duration anyway."""

    fast_lane: bool = True
    """Answer the plain single-image /classify request without FastAPI's form parsing and
    validation (`app.serving.fast_lane`); every other request, and every error, takes the
    route as before. Off: every request takes the route."""

    bench_routes: bool = False
    """Expose POST /bench/floor (upload + preprocessing, no model) for the load benchmark."""

    api_token: SecretStr | None = None
    """Bearer token for training and model management; unset: those routes answer 403."""
