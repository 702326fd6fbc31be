"""The web page at `/`: plain ES modules and CSS in `static/`, a client of the public API."""
