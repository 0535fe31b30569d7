"""The current instant, as a dependency so that tests can pin it (e.g. timezone edges)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends

from app.db import utcnow


def get_now() -> dt.datetime:
    return utcnow()


Now = Annotated[dt.datetime, Depends(get_now)]
