"""Safety around the model: red-flag triage of the patient's message, and a guard on the model's reply."""

from .guard import NOTES, REASONS, GuardResult, StreamGuard, check_sentence, guard_reply
from .triage import ADVICE, CATEGORIES, NOT_URGENT, TriageResult, prepend_advice, triage

__all__ = [
    "ADVICE", "CATEGORIES", "NOTES", "NOT_URGENT", "REASONS", "GuardResult", "StreamGuard", "TriageResult",
    "check_sentence", "guard_reply", "prepend_advice", "triage",
]  # fmt: skip
