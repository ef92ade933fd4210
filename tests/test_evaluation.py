"""medbot-eval, the model card, stock transformers on a saved folder, and pushes that cannot succeed."""

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, SAMPLE_TRAIN, SAMPLE_VALID
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from medbot_hf.configs import EvalArguments, GenerationArguments
from medbot_hf.eval_cli import run
from medbot_hf.evaluation import RESULT_KEYS, token_metrics, unprefixed
from medbot_hf.hub import HubError, hub_repo_name, push_folder


def test_token_metrics_one_formula_one_mapping():
    assert token_metrics(6.0, 3, 2) == {"perplexity": math.exp(2.0), "token_accuracy": 2 / 3}
    assert token_metrics(1e6, 1, 0, prefix="eval_") == {"eval_perplexity": math.exp(50.0), "eval_token_accuracy": 0.0}
    assert unprefixed({"eval_perplexity": 3.0, "eval_loss": 1.1, "epoch": 2.0}) == {
        "perplexity": 3.0, "loss": 1.1, "epoch": 2.0,
    }  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    args = EvalArguments(
        model_name_or_path=str(trained[0]), test_file=str(SAMPLE_VALID), output_dir=str(out), batch_size=8,
        compare=str(trained[0]), update_model_card=True,
    )  # fmt: skip
    return run(args, GenerationArguments(max_new_tokens=24)), out


def test_eval_results_have_every_key_in_range(evaluated, trained):
    results, out = evaluated
    saved = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    assert set(RESULT_KEYS) <= set(saved) and saved["num_dialogues"] == 30
    for key in ("token_accuracy", "bleu_4", "rouge_l", "distinct_1", "distinct_2", "repetition_rate"):
        assert 0.0 <= saved[key] <= 1.0, key
    assert 0 < saved["runtime_s"] < 600 and saved["compare"]["runtime_s"] > 0
    assert 1.0 < saved["perplexity"] < 2000 and 0 <= saved["empty_reply_rate"] < 1 and saved["mean_reply_chars"] > 0
    assert 0 <= saved["guard_rate"] <= 1  # the share of replies the answer pipeline's guard changed
    assert saved["settings"]["loss_on"] == "answers" and saved["settings"]["max_seq_length"] == 128  # as trained
    # the teacher-forced pass is the training format: it reproduces the Trainer's own eval on the same file
    assert saved["perplexity"] == pytest.approx(trained[1]["eval_perplexity"], rel=1e-3)
    assert saved["token_accuracy"] == pytest.approx(trained[1]["eval_token_accuracy"], rel=1e-3)
    assert saved["num_replies"] == 41  # doctor turns in valid.txt: 19 single-turn + 11 two-turn dialogues


def test_compare_puts_models_side_by_side(evaluated, trained):
    results, out = evaluated
    table = (out / "eval_results.md").read_text(encoding="utf-8")
    assert table.count(str(trained[0])) == 2 and "| difference |" in table and "| bleu_4 |" in table
    assert (
        json.loads((out / "eval_results.json").read_text())["compare"]["bleu_4"] == results[str(trained[0])]["bleu_4"]
    )
    lines = (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert {"model", "history", "reference", "reply"} <= set(json.loads(lines[0]))


def test_model_card_parses_and_validates(evaluated, trained):
    card = ModelCard.load(trained[0] / "README.md")
    data = card.data.to_dict()
    assert data["language"] == ["zh"] and {"medical", "gpt2", "chat"} <= set(data["tags"])
    assert data["license"] and data["datasets"] == ["sample"] and data["pipeline_tag"] == "text-generation"
    _, results = model_index_to_eval_results(data["model-index"])
    by_type = {r.metric_type: r.metric_value for r in results}
    assert {"perplexity", "accuracy", "bleu", "rouge"} <= set(by_type)  # eval added its scores
    assert by_type["bleu"] == pytest.approx(evaluated[0][str(trained[0])]["bleu_4"], abs=1e-4)
    assert {(r.dataset_name, r.dataset_type, r.dataset_split) for r in results} == {
        ("valid.txt", str(SAMPLE_VALID), "test")
    }
    assert f"Scores from `medbot-eval` on `{SAMPLE_VALID}`" in card.text
    text = card.text
    assert "Not a doctor" in text and "不是医生" in text and "![loss curve](loss_curve.png)" in text
    assert "Intended use" in text and "Limitations" in text and "Reproduce with" in text


def test_eval_leaves_the_model_card_alone_by_default(evaluated, trained, tmp_path):
    before = (trained[0] / "README.md").read_bytes()
    args = EvalArguments(
        model_name_or_path=str(trained[0]), test_file=str(SAMPLE_TRAIN), output_dir=str(tmp_path), max_dialogues=2
    )
    run(args, GenerationArguments(max_new_tokens=4))
    assert (trained[0] / "README.md").read_bytes() == before and (tmp_path / "eval_results.json").exists()


def test_int8_eval_is_close_to_fp32_and_leaves_the_card(evaluated, trained, tmp_path):
    fp32 = evaluated[0][str(trained[0])]
    before = (trained[0] / "README.md").read_bytes()
    args = EvalArguments(
        model_name_or_path=str(trained[0]), test_file=str(SAMPLE_VALID), output_dir=str(tmp_path), batch_size=8,
        quantize="int8", update_model_card=True,
    )  # fmt: skip
    int8 = run(args, GenerationArguments(max_new_tokens=4))[str(trained[0])]
    assert int8["settings"]["quantize"] == "int8" and int8["num_dialogues"] == fp32["num_dialogues"]
    assert int8["perplexity"] != fp32["perplexity"]  # the int8 layers did score it
    assert abs(int8["perplexity"] / fp32["perplexity"] - 1) < 0.05
    assert (trained[0] / "README.md").read_bytes() == before  # the card describes the saved fp32 weights


def test_eval_scores_special_token_text_as_text(trained, tmp_path):
    test_file = tmp_path / "t.txt"
    test_file.write_text("头疼\n多休息[SEP]多喝水\n\n发烧\n去医院\n", encoding="utf-8")
    args = EvalArguments(model_name_or_path=str(trained[0]), test_file=str(test_file), output_dir=str(tmp_path))
    run(args, GenerationArguments(max_new_tokens=4))
    saved = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert saved["label_tokens"] == len("多休息[SEP]多喝水") + 1 + len("去医院") + 1  # each answer and its [SEP]


def test_stock_transformers_without_medbot_hf(trained):
    from medbot_hf.generation import generate_reply
    from medbot_hf.modeling import load_for_inference

    model, tok = load_for_inference(str(trained[0]), "cpu")
    messages = [{"role": "user", "content": "发烧三天了，要去医院吗？"}]
    ours = generate_reply(model, tok, messages, do_sample=False, max_new_tokens=20, seed=0)
    script = textwrap.dedent(f"""
        import json, sys
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
        path, messages = {str(trained[0])!r}, {json.dumps(messages, ensure_ascii=False)}
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
        inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        torch.manual_seed(0)
        out = model.generate(**inputs, do_sample=False, max_new_tokens=20)
        reply = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        piped = pipeline("text-generation", model=path)(messages, do_sample=False, max_new_tokens=20)
        assert "medbot_hf" not in sys.modules
        print(json.dumps({{"reply": reply, "pipeline": piped[0]["generated_text"][-1]}}, ensure_ascii=False))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    stock = json.loads(result.stdout.strip().splitlines()[-1])
    assert stock["reply"].strip() == ours
    assert stock["pipeline"]["role"] == "assistant" and stock["pipeline"]["content"].strip() == ours


def test_push_without_network_or_token_fails_fast(trained, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", "hf_dummy")
    with pytest.raises(HubError, match="the hub is unreachable .*nothing was pushed"):
        push_folder(str(trained[0]), "someone/medbot-test")
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no stored token either
    with pytest.raises(HubError, match="no hub token"):
        push_folder(str(trained[0]), "someone/medbot-test")
    with pytest.raises(HubError, match="no model.safetensors"):
        push_folder(str(tmp_path), "someone/medbot-test")


def test_push_scripts_stop_before_work(trained, tmp_path):
    env = {**os.environ, "HF_TOKEN": "hf_dummy", "HF_HUB_OFFLINE": "1"}
    pushed = subprocess.run(
        [sys.executable, "recipes/push_to_hub.py", "--folder", str(trained[0]), "--repo_id", "someone/x"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        pushed.returncode == 1
        and "error: the hub is unreachable" in pushed.stderr
        and "Traceback" not in pushed.stderr
    )
    train = subprocess.run(
        [sys.executable, "recipes/finetune.py", "--config", "recipes/sample/config_smoke.yaml", "--push_to_hub", "true",
         "--hub_model_id", "someone/x", "--output_dir", str(tmp_path / "o")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert train.returncode == 1 and train.stderr.strip().splitlines()[-1].startswith("error: the hub is unreachable")
    assert not (tmp_path / "o" / "checkpoint-25").exists()  # stopped before training


def test_retrieval_baseline_same_keys_beside_the_reranked_model(trained, tmp_path):
    from medbot_hf.configs import RerankArguments

    model = str(trained[0])
    args = EvalArguments(
        model_name_or_path=model, test_file=str(SAMPLE_VALID), output_dir=str(tmp_path), batch_size=8,
        baseline="retrieval", compare=model, dialogue_stride=3,
    )  # fmt: skip
    card_before = (trained[0] / "README.md").read_text(encoding="utf-8")
    results = run(args, GenerationArguments(max_new_tokens=16), RerankArguments(num_candidates=4))
    saved = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert set(RESULT_KEYS) <= set(saved) and set(RESULT_KEYS) <= set(saved["compare"])
    assert saved["num_dialogues"] == 10 and saved["settings"]["baseline"] == "retrieval"  # 30 dialogues, every 3rd
    assert saved["perplexity"] is None and saved["compare"]["perplexity"] > 1
    assert saved["compare"]["settings"]["rerank"]["num_candidates"] == 4
    # the baseline's replies are real training answers, word for word (unless the guard replaced a sentence)
    from medbot_hf.retrieval import load_model_index

    answers = {a for _, a in load_model_index(model).pairs}
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    baseline_rows = [r for r in rows if r["model"].startswith("retrieval baseline")]
    assert baseline_rows and all(r["reply"] in answers or r["medbot"]["guard"]["changed"] for r in baseline_rows)
    table = (tmp_path / "eval_results.md").read_text(encoding="utf-8")
    assert "retrieval baseline" in table and "| difference |" in table and len(results) == 2
    assert (trained[0] / "README.md").read_text(encoding="utf-8") == card_before  # a baseline is not the model


def test_hub_repo_is_named_one_way():
    assert hub_repo_name("someone/x", "outputs/sample-smoke") == "someone/x"
    assert hub_repo_name(None, "outputs/sample-smoke/") == "sample-smoke"  # as the Trainer names its repo
