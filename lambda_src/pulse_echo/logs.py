"""Logging: one JSON object per line, stable keys (``host``, ``outcome``, ``reason``, ``elapsed_ms``).

Standard library only.
"""

from __future__ import annotations

import json
import logging
import sys

from . import settings


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: ``level``, ``logger``, ``message`` plus ``fields``.

    Extra fields are passed as ``logger.info("...", extra={"fields": {...}})``;
    use log() below rather than building that by hand.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if fields:
            payload.update(fields)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False, sort_keys=False)


def get_logger(name: str) -> logging.Logger:
    """Return a logger that writes JSON lines to stderr, independent of the root logger.

    The Lambda runtime installs its own handler on the root logger; this logger
    does not propagate to it, so each line is exactly one JSON object. The level
    comes from ``LOG_LEVEL`` (settings.LOG_LEVEL; an unknown level is INFO: logging
    never fails).
    """
    logger = logging.getLogger(name)
    if not getattr(logger, "_pulse_echo_configured", False):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        level = str(settings.text(settings.LOG_LEVEL)).upper()
        logger.setLevel(level if level in settings.LOG_LEVEL.choices else settings.LOG_LEVEL.default)
        logger._pulse_echo_configured = True  # type: ignore[attr-defined]
    return logger


def log(logger: logging.Logger, level: int, message: str, **fields: object) -> None:
    """Write one JSON log line with ``message`` and the given stable keys (``host``, ``outcome``...)."""
    logger.log(level, message, extra={"fields": fields})
