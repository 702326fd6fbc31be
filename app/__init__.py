"""The handcalc REST API. It serves LiteRT exports and never imports TensorFlow."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("handcalc")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
