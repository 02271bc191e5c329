"""The HTTP API front end (Starlette), mounted beside the Slack endpoint by `clixen serve`."""

from api.app import create_api_app

__all__ = ["create_api_app"]
