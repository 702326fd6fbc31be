"""ASGI middleware around every request: its id and access line, admission, body limits."""
