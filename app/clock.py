"""The current instant, as a dependency so that tests can pin it (e.g. timezone edges)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends

from app.db import utcnow


async def get_now() -> dt.datetime:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in the
    # threadpool, a hop that costs more than reading the clock (see docs/BENCHMARKS.md).
    return utcnow()


Now = Annotated[dt.datetime, Depends(get_now)]
