"""The web app (`papergist serve`): thin routes over the `Papergist` front door."""

from papergist.web.app import create_app

__all__ = ["create_app"]
