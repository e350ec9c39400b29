"""Where the CLI gets a RenderInput: the store adapter when it exists, else settings alone."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.config import Settings

ADAPTER_MODULE = "tvoxcc.asterisk.from_store"


def render_input(settings: Settings, say: Callable[[str], None]) -> RenderInput:
    """Agents and DIDs from the store; without the adapter module, no agents or DIDs (said once)."""
    try:
        module = importlib.import_module(ADAPTER_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != ADAPTER_MODULE:
            raise
        say(f"{ADAPTER_MODULE} is not available yet: rendering from tvoxcc.toml only (no agents, no DIDs)")
        return RenderInput.from_settings(settings)
    result = asyncio.run(module.render_input_from_store(settings))
    if not isinstance(result, RenderInput):
        raise TypeError(f"{ADAPTER_MODULE}.render_input_from_store returned {type(result).__name__}")
    return result
