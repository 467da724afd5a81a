"""Log records that always carry the brand and the request or job id.

The ids live in context variables, so they follow a request or a job through every module
and thread-pool hop without being passed around.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_brand: ContextVar[str] = ContextVar("brand", default="-")
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_job_id: ContextVar[str] = ContextVar("job_id", default="-")
_VARS = {"brand": _brand, "request_id": _request_id, "job_id": _job_id}

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "[brand=%(brand)s req=%(request_id)s job=%(job_id)s] %(message)s"
)


@contextmanager
def bind_context(**values: str) -> Iterator[None]:
    """Set brand, request_id or job_id for the records logged inside the block."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_context() -> dict[str, str]:
    return {name: var.get() for name, var in _VARS.items()}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line, for log collectors in production."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "brand": getattr(record, "brand", "-"),
            "request_id": getattr(record, "request_id", "-"),
            "job_id": getattr(record, "job_id", "-"),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(*, json_format: bool, level: int = logging.INFO) -> None:
    """Install one handler on the root logger; calling it again replaces that handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tessera", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._tessera = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter() if json_format else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic reports every migration context at INFO; our own upgrade log says what ran.
    logging.getLogger("alembic").setLevel(logging.WARNING)
