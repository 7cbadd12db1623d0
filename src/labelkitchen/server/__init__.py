"""The web app and HTTP API: ``create_app(settings)`` builds everything."""

from labelkitchen.server.app import create_app

__all__ = ["create_app"]
