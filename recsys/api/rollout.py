"""Rolling a new model out with no downtime (POST /v1/admin/model, SIGHUP).

The new artifact is loaded and checked in a worker thread while the old model keeps serving;
then one assignment swaps it in. A request holds the model it started with (the dependency
returns it once), so requests in flight finish on the old one. An artifact that cannot be
loaded, or that names users or movies in another kind of id than the live one, is refused with
the reason, and the old model goes on serving. Stored ratings stay with the app, not the model:
the ones newer than what the new model was trained on are folded in after the swap too.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from recsys.errors import RecsysError
from recsys.service import Recommendations

log = logging.getLogger("recsys.api")


class Refused(Exception):
    """The artifact cannot replace the live model; the message says why (no server paths)."""


class Busy(Exception):
    """Another rollout is under way."""


def _load_checked(path: Path, live: Recommendations | None) -> Recommendations:
    try:
        path = path.expanduser()
        new = Recommendations.load(path)
    except (RecsysError, OSError, ValueError, RuntimeError) as error:  # RuntimeError: ~nobody
        raise Refused(str(error).replace(str(path), path.name)) from error
    new.warm()  # before the swap: the first request on it is as fast as any
    if live is not None:
        for kind, old, fresh in (("user", live.users, new.users), ("movie", live.items, new.items)):
            if old.integer != fresh.integer:
                spell = {True: "numbers", False: "text"}
                raise Refused(f"its {kind} ids are {spell[fresh.integer]}, the live model's are "
                              f"{spell[old.integer]}")  # fmt: skip
        span, live_span = (new.scale.low, new.scale.high), (live.scale.low, live.scale.high)
        if span != live_span:
            raise Refused(f"its rating scale {span} is not the live one {live_span}")
    return new


async def roll_out(app: FastAPI, path: Path) -> dict:
    """Load, check and swap in the artifact at ``path``; its model info. Raises `Refused`
    (the old model keeps serving) or `Busy`."""
    lock: asyncio.Lock = app.state.rollout_lock
    if lock.locked():
        raise Busy("another model is being rolled out; try again when it is live")
    async with lock:
        live = app.state.service
        new = await run_in_threadpool(_load_checked, Path(path), live)
        new.feedback = getattr(app.state, "feedback", None)
        info = new.model_info()
        app.state.service = new  # the swap: requests from now on get the new model
        app.state.metrics.describe_model(info)
        log.info("rolled out %s (artifact %s)", info["model"], info["artifact"])
        return info


async def reload_on_signal(app: FastAPI, path: Path) -> None:
    """SIGHUP: read the artifact at RECSYS_MODEL again (say a new one was moved there)."""
    try:
        await roll_out(app, path)
    except (Refused, Busy) as error:
        log.error("SIGHUP: kept the live model: %s", error)
