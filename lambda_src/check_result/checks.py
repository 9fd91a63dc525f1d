"""One check's outcome (the sweep or a deadline check) and the run summary's totals over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pulse_echo.times import iso_exact

from .delivery import SnsDelivery, WebhookDelivery
from .history import HistoryWrite
from .model import Evaluation, count_events
from .store import StoredState


@dataclass(frozen=True)
class Check:
    """One check's outcome: its ``kind`` (``sweep`` or ``deadline``), ``id`` (the run id; a
    deadline check's is ``<run id>:<n>``), moment ``at``, the ``evaluation`` it acted on, what
    was delivered, and whether the state was saved (``state`` is the state after it)."""

    kind: str
    id: str
    at: datetime
    evaluation: Evaluation
    webhook: WebhookDelivery
    sns: SnsDelivery
    state_saved: bool
    state: StoredState
    history: HistoryWrite = field(default_factory=HistoryWrite)
    checked: int = 0
    """Hosts read again by a deadline check (0 for the sweep)."""

    @property
    def published_own(self) -> bool:
        """True when SNS took this check's own message."""
        return self.webhook.message is not None and self.webhook.message in self.sns.published

    def to_dict(self) -> dict[str, object]:
        """A deadline check's line in the run summary."""
        return {
            "id": self.id,
            "at": iso_exact(self.at),
            "hosts": self.checked,
            "events": self.evaluation.event_counts(),
            "delivered": [*self.webhook.delivered, *(["sns"] if self.published_own else [])],
            "state_saved": self.state_saved,
        }


def totals(checks: list[Check]) -> dict[str, object]:
    """The run summary's fields that add up every check (see run())."""
    events = [event for check in checks for event in check.evaluation.events]
    delivered = [
        channel
        for check in checks
        for channel in (*check.webhook.delivered, *(["sns"] if check.published_own else []))
    ]
    saved = any(check.state_saved for check in checks)
    return {
        "outcome": "alerted" if events else "state_saved" if saved else "no_change",
        "events": count_events(events),
        "events_sent": len(events),
        "delivered": list(dict.fromkeys(delivered)),
        "sns_republished": sum(len(check.sns.published) - check.published_own for check in checks),
        "sns_pending": len(checks[-1].sns.pending) if checks else 0,
        "sns_dropped": sum(check.sns.dropped for check in checks),
        "state_saved": saved,
        "history_written": sum(check.history.written for check in checks),
        "history_pending": len(checks[-1].state.pending_history) if checks else 0,
        "deadline_checks": [check.to_dict() for check in checks if check.kind == "deadline"],
    }
