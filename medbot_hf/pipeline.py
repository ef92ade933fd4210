"""The one answer pipeline: triage -> generate -> guard -> advice, used by the CLI, every server endpoint and eval.

Generation stays with the caller (a scheduler request, a streamer, one batched `generate` call in evaluation); an
:class:`Answer` does everything around it, the same way on every surface:

1. triage: :func:`start_answer` checks the patient's last message, with their earlier turns, for red flags
   (:func:`medbot_hf.safety.triage`);
2. generate: the caller runs the model and passes its text to :meth:`Answer.feed` piece by piece (streaming), or
   whole to :meth:`Answer.complete`;
3. guard: each sentence is checked as soon as it is complete (:class:`medbot_hf.safety.StreamGuard`), so a streamed
   reply only ever holds back the sentence being written;
4. advice: the urgent advice goes before the reply (:meth:`Answer.shown` for plain-text surfaces; the page and the
   JSON API get it structured in :meth:`Answer.medbot`, to show apart).

Every reply is labelled AI-generated (人工智能生成合成内容标识办法, 2025): :data:`AI_LABEL` on text surfaces, and
`"ai_generated": true` in the `medbot` object of every API response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .safety import StreamGuard, TriageResult, prepend_advice, triage

AI_LABEL = "AI生成"


@dataclass
class Answer:
    """One answer in progress: the triage of the question, then the guarded reply as it is generated.

    Args:
        triage: the red-flag triage of the patient's last message.
        text: the reply as shown so far (guarded; no advice).
    """

    triage: TriageResult
    text: str = ""
    _guard: StreamGuard = field(default_factory=StreamGuard, repr=False)

    def feed(self, piece: str) -> str:
        """Add a generated piece; returns the text that may be shown now (complete, checked sentences)."""
        shown = self._guard.feed(piece)
        self.text += shown
        return shown

    def finish(self) -> str:
        """Generation ended: returns the checked rest of the reply."""
        shown = self._guard.finish()
        self.text += shown
        self.text = self.text.strip()
        return shown

    def complete(self, reply: str) -> str:
        """The whole reply at once (no streaming); returns it as shown."""
        self.feed(reply)
        self.finish()
        return self.text

    @property
    def guard_changed(self) -> bool:
        """Whether the guard replaced any sentence of the reply."""
        return bool(self._guard.reasons)

    @property
    def guard_reasons(self) -> list[str]:
        """What the guard found, in reply order (keys of :data:`medbot_hf.safety.NOTES`)."""
        return list(self._guard.reasons)

    def shown(self) -> str:
        """The advice (when urgent) and then the reply, for surfaces that show one text."""
        return prepend_advice(self.triage, self.text)

    def medbot(self) -> dict:
        """The `medbot` object every API response carries: the AI label, the triage and what the guard did."""
        return {
            "ai_generated": True,
            "triage": {"urgent": self.triage.urgent, "category": self.triage.category, "advice": self.triage.advice},
            "guard": {"changed": self.guard_changed, "reasons": self.guard_reasons},
        }


def start_answer(messages: list[dict[str, str]]) -> Answer:
    """Step 1 of the pipeline: triage the patient's last message (`messages` ends with the patient's turn), read with
    the patient's earlier turns of the dialogue (a short follow-up is weighed in its dialogue)."""
    history = [m["content"] for m in messages[:-1] if m["role"] == "user"]
    return Answer(triage(messages[-1]["content"], history))


def answer_replies(histories: list[list[dict[str, str]]], replies: list[str]) -> list[Answer]:
    """The whole pipeline over replies generated in one batch (evaluation): triage, then the guard on each reply."""
    answers = [start_answer(history) for history in histories]
    for answer, reply in zip(answers, replies, strict=True):
        answer.complete(reply)
    return answers
