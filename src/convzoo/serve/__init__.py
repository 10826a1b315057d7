"""The LeNet demo: a local web page to draw digits (or upload garments) and watch the network read them."""

from .app import create_app

__all__ = ["create_app"]
