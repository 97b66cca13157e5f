"""Structured log lines for the Lambdas: one JSON object per line, easy to query in CloudWatch."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

# Libraries that log every request or credential lookup at INFO: one line per TMDB call would
# drown a run's own progress lines (36,000 of them in a full Lambda invocation).
CHATTY_LOGGERS = ("httpx", "httpcore", "botocore", "boto3", "urllib3", "matplotlib", "s3transfer")


def quiet_libraries(level: int = logging.WARNING) -> None:
    """Raise the chatty libraries' loggers to ``level`` (WARNING unless debugging)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON with its message, level, logger and any ``extra={"fields": ...}``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def lambda_logger(name: str) -> logging.Logger:
    """A logger whose lines are JSON, at ``LOG_LEVEL`` (default INFO); idempotent."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    quiet_libraries(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    return logging.getLogger(name)


def event(logger: logging.Logger, message: str, **fields: Any) -> None:
    """Log one structured INFO line: ``event(log, "batch written", key=..., records=...)``."""
    logger.info(message, extra={"fields": fields})
