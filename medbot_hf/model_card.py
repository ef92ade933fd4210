"""The model card (`README.md` with Hugging Face metadata) written into every final output folder."""

from __future__ import annotations

import json
import os

import yaml

from .hub import hub_repo_name
from .retrieval import INDEX_DIR

DISCLAIMER = (
    "**Not a doctor.** This model imitates the text of online medical consultations. Its answers are often wrong "
    "or unsafe and must never be used for diagnosis or treatment. In an emergency call 120 (China) or your local "
    "emergency number.\n\n"
    "**本模型不是医生。** 回答由模型生成，可能错误或不安全，不能用于诊断或治疗。急症请立即拨打 120。"
)
# metric key in eval_results.json -> (model-index type, display name)
CARD_METRICS = {
    "perplexity": ("perplexity", "Answer-only perplexity"),
    "token_accuracy": ("accuracy", "Answer token accuracy"),
    "bleu_4": ("bleu", "Character BLEU-4"),
    "rouge_l": ("rouge", "Character ROUGE-L"),
    "distinct_1": ("distinct-1", "Distinct-1"),
    "distinct_2": ("distinct-2", "Distinct-2"),
}


def _metadata(run: dict, metrics: dict, model_name: str) -> dict:
    dataset = run.get("dataset_name") or os.path.basename(os.path.dirname(os.path.abspath(run["train_file"])))
    scored_on = {"type": dataset, "name": dataset, "split": "validation"}  # the training run's own held-out split
    if metrics.get("test_file"):  # scores from medbot-eval: name the file they come from
        scored_on = {"type": metrics["test_file"], "name": os.path.basename(metrics["test_file"]), "split": "test"}
    values = [
        {"type": kind, "name": name, "value": round(float(metrics[key]), 4)}
        for key, (kind, name) in CARD_METRICS.items()
        if metrics.get(key) is not None
    ]
    meta = {
        "language": ["zh"],
        "license": run.get("license", "apache-2.0"),
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["medical", "gpt2", "chat", "medbot-hf"],
        "datasets": [dataset],
    }
    if values:
        meta["metrics"] = [v["type"] for v in values]
        meta["model-index"] = [
            {
                "name": model_name,
                "results": [
                    {
                        "task": {"type": "text-generation", "name": "Medical consultation reply"},
                        "dataset": scored_on,
                        "metrics": values,
                    }
                ],
            }
        ]
    return meta


INDEX_HEADING = "\n## Retrieval index\n"


def _index_section(index: dict | None) -> str:
    """The card's note on `retrieval_index/`: what it holds, from which corpus, under which terms."""
    if index is None:
        return ""
    research = any("research use" in term.lower() for term in index.get("terms", []))
    terms = "".join(f"\n- {term}" for term in index.get("terms", []))
    return f"""{INDEX_HEADING}
`{INDEX_DIR}/` holds {index["pairs"]} real (question, answer) pairs of the training corpus,
{index["corpus"]}, sha256 `{index.get("corpus_sha256", "n/a")}`, indexed with {index["library"]} over
{index["tokens"]}. medbot-hf shows the closest ones beside a reply as retrieved consultations (real text, not
generated), and `medbot-eval --baseline retrieval` scores them as a baseline.
{"**Parts of this corpus are for research use only**, and so is this index. " if research else ""}\
The corpus's terms, from its README:{terms or " (none found)"}
"""


def render_model_card(run: dict, metrics: dict, model_name: str, index: dict | None = None) -> str:
    """The card's text: YAML metadata, intended use, limitations, disclaimer, training summary and metrics.

    Args:
        run: the run settings saved as `medbot_run.json` (model, data and training fields, plus `command`).
        metrics: evaluation results; keys as in `eval_results.json` (those missing are left out).
        model_name: the name shown in the card (hub id or folder name).
        index: the retrieval index's `index.json` (corpus, hash, terms), when the folder has one.

    Returns:
        Markdown with a `---` YAML front matter block that `huggingface_hub.ModelCard` parses.
    """
    meta = yaml.safe_dump(_metadata(run, metrics, model_name), allow_unicode=True, sort_keys=False)
    rows = "\n".join(f"| {name} | {float(metrics[k]):.4f} |" for k, (_, name) in CARD_METRICS.items() if k in metrics)
    extra = {k: metrics[k] for k in ("repetition_rate", "mean_reply_chars", "empty_reply_rate") if k in metrics}
    rows += "".join(f"\n| {k} | {float(v):.4f} |" for k, v in extra.items())
    summary = {k: run[k] for k in sorted(run) if k != "command" and run[k] is not None}
    source = (
        f"`medbot-eval` on `{metrics['test_file']}`" if metrics.get("test_file") else "the end-of-training evaluation"
    )
    return f"""---
{meta}---

# {model_name}

A GPT-2 chat model for Chinese medical consultations, trained with medbot-hf in its
`[CLS] 患者 [SEP] 医生 [SEP] ...` chat format.

{DISCLAIMER}

## Intended use

Research, teaching and demos of dialogue modelling on Chinese medical consultation text: comparing training runs,
and showing how a small chat model behaves. Not for use by patients, and not for any clinical decision.

## Limitations

- The training text comes from web consultations; it holds errors, advertising and out-of-date advice, which the
  model reproduces. It has no medical knowledge beyond imitating that text.
- Small models repeat themselves and drift off topic, and replies can sound confident while being wrong.
- It answers in Chinese only, and does not detect emergencies itself (medbot-hf's chat and server put a red-flag
  triage in front of it).

## Usage

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tok = AutoTokenizer.from_pretrained("{model_name}")
model = AutoModelForCausalLM.from_pretrained("{model_name}")
messages = [{{"role": "user", "content": "感冒了鼻塞怎么办？"}}]
inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
out = model.generate(**inputs)
print(tok.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))
```

## Evaluation

Scores from {source}.

| metric | value |
| --- | --- |
{rows or "| (not evaluated yet) | |"}

## Training

![loss curve](loss_curve.png)

Reproduce with:

```bash
{run.get("command", "(command not recorded)")}
```

<details><summary>Run settings</summary>

```json
{json.dumps(summary, indent=2, ensure_ascii=False, default=str)}
```

</details>
{_index_section(index)}"""


def write_model_card(output_dir: str, metrics: dict, model_name: str | None = None) -> str:
    """Write `README.md` into `output_dir` from its `medbot_run.json` and the given metrics; returns the path."""
    with open(os.path.join(output_dir, "medbot_run.json"), encoding="utf-8") as f:
        run = json.load(f)
    path = os.path.join(output_dir, "README.md")
    name = model_name or hub_repo_name(run.get("hub_model_id"), output_dir)
    index_path = os.path.join(output_dir, INDEX_DIR, "index.json")
    index = None
    if os.path.isfile(index_path):
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_model_card(run, metrics, name, index))
    return path


def update_index_section(output_dir: str, index: dict) -> str:
    """Put the retrieval index's section (corpus, hash, terms) into an existing model card, replacing an older one
    and leaving the rest as it was; returns the card's path."""
    path = os.path.join(output_dir, "README.md")
    with open(path, encoding="utf-8") as f:
        card = f.read().split(INDEX_HEADING)[0].rstrip("\n") + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(card + _index_section(index))
    return path
