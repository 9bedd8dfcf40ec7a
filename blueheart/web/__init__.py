"""``blueheart serve``: the campaign page and its HTTP API (the ``web`` extra).

``create_app`` builds the ASGI app for a ``Campaign`` within ``ServiceSettings``; ``serve`` runs
it with uvicorn. Photos stay in memory and are never logged; the service keeps no state.
"""

from __future__ import annotations

from blueheart.web.app import create_app
from blueheart.web.campaign import Campaign, PresetError, load_campaign
from blueheart.web.limits import ServiceSettings
from blueheart.web.server import check_address, serve

__all__ = [
    "Campaign",
    "PresetError",
    "ServiceSettings",
    "check_address",
    "create_app",
    "load_campaign",
    "serve",
]
