"""`uvicorn --factory bench.app_factory:app`: the server app from METALGRAPH_* settings, for benchmarks."""

from starlette.applications import Starlette

from metalgraph.server.app import create_app
from metalgraph.server.settings import Settings


def app() -> Starlette:
    return create_app(Settings())
