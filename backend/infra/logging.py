"""JSON logs, one object a line, each carrying the id of the request that caused it."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def logging_config(level: str = "INFO") -> dict[str, Any]:
    formatter = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stdout",
    }
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
