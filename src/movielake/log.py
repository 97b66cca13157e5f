"""Structured log lines for the Lambdas: one JSON object per line, easy to query in CloudWatch."""

from __future__ import annotations

import json
import logging
import os
from typing import Any


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
    return logging.getLogger(name)


def event(logger: logging.Logger, message: str, **fields: Any) -> None:
    """Log one structured INFO line: ``event(log, "batch written", key=..., records=...)``."""
    logger.info(message, extra={"fields": fields})
