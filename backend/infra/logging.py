"""JSON logs, one object a line, each carrying the id of the request that caused it."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time of each record (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def logging_config(level: str = "INFO") -> dict[str, Any]:
    formatter = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    handler = {"()": StdoutHandler, "formatter": "json", "filters": ["request_id"]}
    loggers = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "b2bc", "uvicorn")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": formatter},
        "handlers": {"json": handler},
        "loggers": {
            name: {"level": level, "handlers": ["json"], "propagate": False} for name in loggers
        },
    }


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"b2bc.{name}")
