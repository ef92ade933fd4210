"""Safety around the model: red-flag triage of the patient's message, and a guard on the model's reply."""

from .guard import NOTES, REASONS, GuardResult, StreamGuard, check_sentence, guard_reply
from .triage import ADVICE, CATEGORIES, NOT_URGENT, TriageResult, advice_block, prepend_advice, rule_triage, triage

__all__ = [
    "ADVICE", "CATEGORIES", "NOTES", "NOT_URGENT", "REASONS", "GuardResult", "StreamGuard", "TriageResult",
    "advice_block", "check_sentence", "guard_reply", "prepend_advice", "rule_triage", "triage",
]  # fmt: skip
