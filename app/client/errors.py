"""What goes wrong talking to the API: it refused (`ApiError`), or it could not be reached."""

from __future__ import annotations

import httpx


class ApiError(Exception):
    """The API answered with an error status; `detail` is its sentence saying why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):  # not handcalc's JSON, e.g. a proxy's page
            detail = response.text.strip()[:500] or response.reason_phrase
        return cls(response.status_code, detail if isinstance(detail, str) else str(detail))


class Unreachable(ConnectionError):
    """No answer from the API at all: nothing listens there, or it timed out."""

    def __init__(self, url: str, error: httpx.TransportError) -> None:
        reason = str(error) or type(error).__name__
        super().__init__(f"cannot reach the handcalc API at {url}: {reason}")
        self.url = url
