"""A small self-harm-method sentence classifier backing up the reply guard's readings (`self_harm.py`).

The readings catch the methods they were written for; this model reads other wordings of the same methods. It is the
triage classifier's model (:mod:`medbot_hf.safety.classifier`: the same hashed character 1-3-grams, plain and
clause-kind tagged, and the same numpy softmax inference), with two labels, `self_harm_method` and `none`, trained
on single reply sentences. It only ever sees a sentence the readings neither find nor clear (first aid, care,
hotlines and means put away are cleared before it) and that is long enough and names a means or an end
(:func:`medbot_hf.safety.self_harm_means.may_be_method`); `guard_reply` stays the one entry point and the
reason it gives stays `self_harm_method`.

The weights ship in the package (`data/guard_classifier.safetensors`, float16, 256 KB) with the threshold chosen on
the training script's own validation split and the real doctor-turn change rate, never on a held-out test set. They
are built by `python -m medbot_hf.safety.train_guard` (see that module), reproducible from its seed; the file also
stores the float32 model's probabilities on a few probe sentences, which the tests compare with the shipped model.
The file loads once, lazily, on the first sentence that reaches the gate (about 0.2 s with numpy and safetensors;
measured in the README), and a sentence then takes about 0.15 ms.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .classifier import TriageModel, load_model

LABEL = "self_harm_method"
WEIGHTS_FILE = "guard_classifier.safetensors"


def weights_path():
    """Where the shipped weights are (inside the installed package)."""
    return resources.files("medbot_hf.safety") / "data" / WEIGHTS_FILE


@cache
def shipped_model() -> TriageModel:
    """The package's self-harm-method classifier, loaded once on first use."""
    model = load_model(weights_path())
    if LABEL not in model.labels:
        raise ValueError(f"{weights_path()}: labels {model.labels} lack {LABEL!r}")
    return model


def method_probability(sentence: str, model: TriageModel | None = None) -> float:
    """The classifier's probability that one lowercased sentence tells a self-harm method."""
    return (model or shipped_model()).predict(sentence)[0]


def says_method(sentence: str) -> bool:
    """Whether the shipped classifier calls one lowercased sentence a self-harm method (at its shipped threshold)."""
    model = shipped_model()
    return method_probability(sentence, model) >= model.threshold
