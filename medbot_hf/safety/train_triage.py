"""Train the triage classifier (:mod:`medbot_hf.safety.classifier`) and write its shipped weights.

    python -m medbot_hf.safety.train_triage              # -> medbot_hf/safety/data/triage_classifier.safetensors
    python -m medbot_hf.safety.train_triage --validate   # only the threshold sweep, nothing written

The threshold comes first: a fit on 80% of the written rows (the 20% set apart by the seed), scored on those 20%
(and on the tuning file's `held_out` part and a real-corpus sample, printed); it is the highest urgency cut whose
rules + classifier recall on the 20% reaches `--target_recall`. Then the same fit on all the data gives the weights.

Run it from the repository root. The data, in order:
1. `medbot_hf/safety/data/triage_train.txt`: messages written by hand for this model, 40 urgent and 40 routine per
   category (routine ones on the same topic: prevention, past episodes, negations, hypotheticals, knowledge);
2. `tests/data/triage_cases.json` `tuning` (the rule author's cases; its `held_out` part is only scored here);
3. routine negatives: patient turns sampled by the seed from `../shared/data/medical_dialogue/train.txt`, kept only
   where the rules stay silent and no red-flag word occurs. Research-only text: it is read here and never copied; the
   run goes on without it (saying so) when the file is absent, and then gives other weights.
Training examples get seeded variants (a greeting before, a harmless question after, a rambling context, no
punctuation), and urgent messages also give routine ones (the same words as a past episode or a hypothetical).
The same seed and data give the same weights: one CPU thread, deterministic torch ops, full-batch order by the seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from pathlib import Path

import numpy as np

from .classifier import BUCKETS, NONE, WEIGHTS_FILE, feature_ids, load_model
from .triage import CATEGORIES, RULES_ONLY, rule_triage

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
TRAIN_FILE = HERE / "data" / "triage_train.txt"
LABELS = (*(c for c in CATEGORIES if c not in RULES_ONLY), NONE)
# Words that make a corpus turn unfit as a "routine" negative even when the rules stay silent.
RED_FLAG = re.compile(
    r"急救|急诊|120|抢救|昏迷|晕倒|晕过去|抽搐|抽风|叫不醒|不省人事|吐血|呕血|咯血|咳血|黑便|柏油|便血|大出血|止不住"
    r"|自杀|轻生|不想活|想死|割腕|中毒|误服|误食|农药|喘不|呼吸困难|憋气|窒息|发紫|胸痛|胸口痛|胸口疼|剧痛|剧烈"
    r"|撕裂|嘴歪|口角歪|说话不清|偏瘫|半身|失明|看不见|休克|冷汗|高烧|4[01]度|39度|卡住|噎|溺水|触电|烧伤|烫伤"
    r"|中暑|血糖|血压(?:1[89]|2)|过敏|肿|睾丸|骨折|摔|撞|车祸|流产|出血|见红|孕"
)
PREFIXES = ("", "医生你好，", "你好，请问一下，", "在吗？", "急！", "我想咨询一下，", "打扰了，", "大夫，")
SUFFIXES = (
    "",
    "，怎么办",
    "，该怎么办啊",
    "，要去医院吗",
    "，急",
    "，在线等",
    "？",
    "，是不是没事",
    "，能先观察一下吗",
)
CONTEXT = ("我们住在农村，离县医院挺远的", "家里就我一个人在", "平时身体还可以", "晚上十点多了",
           "我也不太懂这些", "这几天一直在加班", "孩子他爸出差了")  # fmt: skip
PRESENT = re.compile(r"现在|刚才|刚刚|正在|还在|一直|马上|快|急|已经|今天|今晚|早上|半夜|这会")
PAST = ("去年", "以前", "前年", "小时候", "上次", "三年前")


def read_train_file(path: Path = TRAIN_FILE) -> list[tuple[str, str, str]]:
    """`(text, topic category, "+" urgent or "-" routine)` rows of the hand-written data file."""
    rows, category = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("# "):
            continue
        if line.startswith("## "):
            category = line[3:].strip()
            if category not in CATEGORIES:
                raise ValueError(f"{path}:{number}: unknown category {category!r}")
        elif line[:2] in ("+ ", "- ") and category and line[2:].strip():
            rows.append((line[2:].strip(), category, line[0]))
        else:
            raise ValueError(f"{path}:{number}: expected '## category', '+ text' or '- text', got {line[:40]!r}")
    return rows


def variants(text: str, rng: random.Random) -> list[str]:
    """Two seeded rewordings of a message: a greeting and a tail, and a rambling context (sometimes unpunctuated)."""
    out = [
        rng.choice(PREFIXES) + text + rng.choice(SUFFIXES),
        f"{rng.choice(CONTEXT)}，{text}{rng.choice(SUFFIXES[1:])}",
    ]
    return [re.sub(r"[，。！？,!?]", "", t) if rng.random() < 0.3 else t for t in out]


def background_frames(text: str, rng: random.Random) -> list[str]:
    """Routine messages made of an urgent one's words: a past episode, or a hypothetical question."""
    if PRESENT.search(text):
        return [f"如果{text}，应该怎么处理"]
    return [rng.choice([f"{rng.choice(PAST)}{text}，后来治好了，现在没什么不舒服，平时要注意什么",
                        f"如果{text}，应该怎么处理"])]  # fmt: skip


def corpus_negatives(path: Path, count: int, rng: random.Random) -> tuple[list[str], int]:
    """Up to `count` patient turns where neither the rules nor :data:`RED_FLAG` fire; also the number skipped."""
    turns = []
    for dialogue in path.read_text(encoding="utf-8").split("\n\n"):
        turns += [line for line in dialogue.split("\n") if line][0::2]
    picked = rng.sample(turns, min(len(turns), count * 2))
    kept = [t for t in picked if not RED_FLAG.search(t) and not rule_triage(t).urgent][:count]
    return kept, len(picked) - len(kept)


def build_sets(args: argparse.Namespace, validate: bool) -> tuple[list, list]:
    """`(train, validation)` lists of `(text, label)`: with `validate`, 20% of the written rows are kept apart."""
    rng = random.Random(args.seed)
    written = read_train_file()
    order = list(range(len(written)))
    rng.shuffle(order)
    val_ids = set(order[: int(len(order) * 0.2)]) if validate else set()
    train, val = [], []
    for i, (text, category, sign) in enumerate(written):
        label = category if sign == "+" else NONE
        if i in val_ids:
            val.append((text, label))
            continue
        train += [(t, label) for t in [text, *variants(text, rng)]]
        if sign == "+" and category != "self_harm":  # self-harm words always alarm, past or not
            train += [(t, NONE) for t in background_frames(text, rng)]
    cases = Path(args.cases)
    if cases.exists():
        tuning = json.loads(cases.read_text(encoding="utf-8"))["tuning"]
        train += [(t, c) for t, c in tuning["urgent"]]
        train += [(c[0] if isinstance(c, list) else c, NONE) for c in tuning["ordinary"]]
    else:
        logger.warning("%s not found: training without the rule author's tuning cases", cases)
    corpus = Path(args.corpus)
    if corpus.exists() and args.corpus_negatives:
        kept, skipped = corpus_negatives(corpus, args.corpus_negatives, rng)
        train += [(t, NONE) for t in kept]
        logger.info(
            "corpus negatives: %d kept, %d sampled turns skipped (rules or red-flag words)", len(kept), skipped
        )
    else:
        logger.warning("%s not found (or --corpus_negatives 0): no real-corpus negatives; weights will differ", corpus)
    return train, val


def fit(train: list, args: argparse.Namespace, labels: tuple[str, ...] = LABELS) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on hashed n-grams with torch; returns `(weight, bias)` as float32 arrays.

    Also the guard classifier's fit (:mod:`medbot_hf.safety.train_guard`), with its own `labels` (`none` last)."""
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    ids = [torch.from_numpy(feature_ids(t)) for t, _ in train]
    targets = torch.tensor([labels.index(label) for _, label in train])
    class_weight = torch.ones(len(labels))
    class_weight[labels.index(NONE)] = args.none_weight
    bag = torch.nn.EmbeddingBag(BUCKETS, len(labels), mode="sum")
    torch.nn.init.zeros_(bag.weight)
    bias = torch.nn.Parameter(torch.zeros(len(labels)))
    optimizer = torch.optim.Adam([bag.weight, bias], lr=args.learning_rate)
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        total = 0.0
        for batch in torch.randperm(len(train), generator=generator).split(args.batch_size):
            flat = torch.cat([ids[i] for i in batch])
            offsets = torch.tensor([0] + [len(ids[i]) for i in batch[:-1]]).cumsum(0)
            scale = torch.cat([torch.full((len(ids[i]),), len(ids[i]) ** -0.5) for i in batch])
            logits = bag(flat, offsets, per_sample_weights=scale) + bias
            loss = torch.nn.functional.cross_entropy(logits, targets[batch], weight=class_weight)
            loss = loss + args.l2 * bag.weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        logger.info("epoch %d: loss %.4f", epoch + 1, total / len(train))
    return bag.weight.detach().numpy().copy(), bias.detach().numpy().copy()


def save(
    path: Path, weight: np.ndarray, bias: np.ndarray, threshold: float, info: dict, labels: tuple[str, ...] = LABELS
) -> None:
    from safetensors.numpy import save_file

    meta = {"labels": json.dumps(labels), "threshold": json.dumps(threshold)}
    meta |= {k: json.dumps(v, ensure_ascii=False) for k, v in sorted(info.items())}
    save_file({"weight": weight.astype(np.float16), "bias": bias.astype(np.float32)}, str(path), metadata=meta)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(HERE / "data" / WEIGHTS_FILE), help="weights file to write")
    parser.add_argument("--cases", default="tests/data/triage_cases.json", help="the rule author's tuning cases")
    parser.add_argument("--corpus", default="../shared/data/medical_dialogue/train.txt", help="real patient turns")
    parser.add_argument("--corpus_negatives", type=int, default=3000, help="corpus turns to sample as routine")
    parser.add_argument("--validate", action="store_true", help="only the 80/20 fit and threshold sweep; no write")
    parser.add_argument("--target_recall", type=float, default=0.95, help="combined recall the threshold must keep")
    add_fit_arguments(parser)
    return parser


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """The options :func:`fit` reads (seed and optimisation), shared with `train_guard`."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.05)
    parser.add_argument("--l2", type=float, default=1e-6, help="squared-weight penalty per batch")
    parser.add_argument("--none_weight", type=float, default=1.0, help="loss weight of the `none` class")


def main(args: argparse.Namespace) -> None:
    from .classifier import TriageModel

    start = time.perf_counter()
    train, val = build_sets(args, validate=True)
    weight, bias = fit(train, args)
    threshold = sweep(TriageModel(weight, bias, LABELS, 0.5, {}), val, Path(args.cases), args)
    print(f"validation fit on {len(train)} examples, {time.perf_counter() - start:.0f} s; threshold {threshold}")
    if args.validate:
        return
    train, _ = build_sets(args, validate=False)
    weight, bias = fit(train, args)
    info = {
        "seed": args.seed,
        "train_examples": len(train),
        "epochs": args.epochs,
        "target_recall": args.target_recall,
    }
    save(Path(args.output), weight, bias, threshold, info)
    load_model(args.output)  # fails loudly if the file does not read back
    print(f"final fit on {len(train)} examples; wrote {args.output} ({time.perf_counter() - start:.0f} s in all)")


THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(18))  # 0.1 ... 0.95


def sweep(model, val: list, cases: Path, args: argparse.Namespace) -> float:
    """Print recall and false alarms of the classifier alone and of rules + classifier per threshold, and the
    real-corpus fire rate on turns not used in training; return the highest threshold whose combined recall on the
    written validation split reaches `--target_recall` (fewest alarms for that recall)."""
    sets = {"written 20%": val}
    if cases.exists():
        held = json.loads(cases.read_text(encoding="utf-8"))["held_out"]
        sets["cases held_out"] = [(t, c) for t, c in held["urgent"]] + [
            (c[0] if isinstance(c, list) else c, NONE) for c in held["ordinary"]
        ]
    chosen = {}
    for name, rows in sets.items():
        scored = [(model.predict(t)[0], rule_triage(t).urgent, label != NONE) for t, label in rows]
        urgent = sum(u for *_, u in scored)
        print(f"\n{name}: {urgent} urgent, {len(scored) - urgent} routine")
        print("threshold | model recall | model false alarms | combined recall | combined false alarms")
        for th in THRESHOLDS:
            fired = [(p >= th, p >= th or r, u) for p, r, u in scored]
            recall = [sum(f[k] for f in fired if f[2]) / urgent for k in (0, 1)]
            alarms = [sum(f[k] for f in fired if not f[2]) / (len(fired) - urgent) for k in (0, 1)]
            print(f"{th:.2f} | {recall[0]:.3f} | {alarms[0]:.3f} | {recall[1]:.3f} | {alarms[1]:.3f}")
            chosen.setdefault(name, {})[th] = recall[1]
    threshold = max(
        [th for th in THRESHOLDS if chosen["written 20%"][th] >= args.target_recall], default=THRESHOLDS[0]
    )
    corpus = Path(args.corpus)
    if corpus.exists():
        turns = []
        for dialogue in corpus.read_text(encoding="utf-8").split("\n\n"):
            turns += [line for line in dialogue.split("\n") if line][0::2]
        turns = random.Random(args.seed + 1).sample(turns, min(len(turns), 4000))  # mostly turns not trained on
        silent = [t for t in turns if not rule_triage(t).urgent]
        urgencies = [model.predict(t)[0] for t in silent]
        print(f"\nreal corpus, {len(turns)} turns, {len(turns) - len(silent)} rule fires; classifier adds:")
        print(" | ".join(f"{th:.2f}: {sum(u >= th for u in urgencies) / len(turns):.2%}" for th in THRESHOLDS))
    return threshold


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main(make_parser().parse_args())
