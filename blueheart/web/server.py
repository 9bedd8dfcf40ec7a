"""Running the app with uvicorn, in one process or several.

uvicorn starts several worker processes only from an import string, so the settings travel
to them in one environment variable, and each process builds the same app from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from blueheart.web.app import create_app
from blueheart.web.campaign import load_campaign
from blueheart.web.limits import ServiceSettings

ENVIRONMENT = "BLUEHEART_SERVE"


def app_from_environment() -> ASGIApp:
    """The app as ``serve`` described it in the environment (uvicorn's factory)."""
    described = json.loads(os.environ[ENVIRONMENT])
    settings = ServiceSettings(**described["settings"])
    return create_app(load_campaign(described["config"]), settings)


def check_address(host: str, port: int) -> None:
    """Raise ``OSError`` if the service could not listen on ``host``:``port`` (a port in use,
    an address that is not this machine's), before anything says it is serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind((host, port))


def serve(
    config: str | Path | None,
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    processes: int = 1,
    root_path: str = "",
) -> None:
    """Serve the campaign in the preset ``config`` (None: the defaults) until interrupted.

    ``processes`` uvicorn workers share the cores: each badges ``settings.workers`` photos at
    once. ``root_path`` is the path a reverse proxy serves the service under. Ctrl-C or
    SIGTERM stops it within ``settings.work_timeout`` seconds, whatever work still runs. Raises
    ``PresetError`` for a preset that cannot be used, before anything starts.
    """
    load_campaign(config)
    described = {
        "config": None if config is None else str(Path(config).resolve()),
        "settings": dataclasses.asdict(settings),
    }
    os.environ[ENVIRONMENT] = json.dumps(described)
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        root_path=root_path,
        server_header=False,
        # Stopped, it lets the photos being done get their answer (or their 503) first.
        timeout_graceful_shutdown=math.ceil(settings.work_timeout),
    )
