#!/usr/bin/env bash
# The GPU check of the ancestor-size recipe (recipes/medical_dialogue/config_gpt2_base_gpu.yaml: 12 layers, 768
# dim, ~95M parameters) on the shared corpus, for a 1-GPU H100/H200 machine, in one command of under 10 minutes:
#
#   bash benchmarks/gpu_check.sh --prepare   # here, once: build/gpu_site (datasets, evaluate, bm25s & co.) and
#                                            # build/gpu_data/medical_dialogue (a copy of ../shared's corpus)
#   bash benchmarks/gpu_check.sh             # on the GPU machine, from the repo root; carry build/gpu_site and
#                                            # build/gpu_data (build/ is git-ignored: the corpus is never committed)
#   DRY_RUN=1 bash benchmarks/gpu_check.sh   # on a CPU: a tiny model and a few steps through every stage
#
# 1. Packed attention on this GPU: tests/test_packing.py's per-token loss and boundary tests.
# 2. Throughput of the accelerate loop (benchmarks/bench_training.py --worker loop) on the shared train split:
#    today's padded batches (32 dialogues, padded to a multiple of 64, no compile) against packed rows (32 rows of
#    512 tokens), first eager, then as the recipe sets it (torch.compile, fused AdamW, bf16). For each: non-pad
#    tokens/s, step time, peak memory, and MFU = 6 x parameters x non-pad tokens/s (attention's own FLOPs left out)
#    over PEAK_TFLOPS, the dense bf16 peak (989 for an H100 SXM or H200; 756 for an H100 PCIe).
# 3. Quality: the recipe on the shared train split for QUALITY_SECONDS of steps (the step count is taken from the
#    compiled run's step time), then the loop's own eval on valid.txt, medbot-eval (recipes/eval.py) on the first
#    EVAL_DIALOGUES dialogues of valid.txt, and five of its replies to real valid.txt questions.
# Results go to $OUT (the device tool's folder) when it is set, else to build/gpu_check.
set -euo pipefail
cd "$(dirname "$0")/.."
DRY_RUN=${DRY_RUN:-0}
STEPS=${STEPS:-60}
WARMUP=${WARMUP:-10}
QUALITY_SECONDS=${QUALITY_SECONDS:-240}
EVAL_DIALOGUES=${EVAL_DIALOGUES:-300}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
CONFIG=recipes/medical_dialogue/config_gpt2_base_gpu.yaml

if [[ "${1:-}" == "--prepare" ]]; then
    site=$(python3 -c "import datasets, os; print(os.path.dirname(os.path.dirname(datasets.__file__)))")
    rm -rf build/gpu_site build/gpu_data && mkdir -p build/gpu_site build/gpu_data
    for name in datasets dill multiprocess _multiprocess evaluate bm25s "datasets-*.dist-info" "dill-*.dist-info" \
        "multiprocess-*.dist-info" "evaluate-*.dist-info" "bm25s-*.dist-info"; do
        cp -r "$site"/$name build/gpu_site/
    done
    find build/gpu_site -name __pycache__ -prune -exec rm -rf {} +
    cp -r ../shared/data/medical_dialogue build/gpu_data/ && chmod -R u+w build/gpu_data
    du -sh build/gpu_site build/gpu_data
    exit 0
fi

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export HF_DATASETS_DISABLE_PROGRESS_BARS=1
python3 -c "import datasets, evaluate, bm25s" 2>/dev/null || export PYTHONPATH="$PYTHONPATH:$PWD/build/gpu_site"
results=${OUT:-build/gpu_check}
mkdir -p "$results"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=build/gpu_data/medical_dialogue
flags=(--cache_dir "$work/cache" --dataloader_num_workers 2 --preprocessing_num_workers 4)
if [[ "$DRY_RUN" == 1 ]]; then  # the same stages, small enough for a CPU; nothing measured means anything
    [[ -f $data/train.txt ]] || data=data/sample
    STEPS=3 WARMUP=2 QUALITY_SECONDS=20 EVAL_DIALOGUES=4
    flags+=(--config_overrides n_embd=32,n_layer=2,n_head=2,n_positions=512 --bf16 false --torch_compile false
        --use_cpu true --max_train_samples 400 --max_eval_samples 40 --dataloader_num_workers 0)
else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
train=$data/train.txt valid=$data/valid.txt
python3 -c "import datasets, torch, transformers, accelerate as a; print('torch', torch.__version__, 'cuda',
torch.version.cuda, '| transformers', transformers.__version__, '| accelerate', a.__version__, '| datasets',
datasets.__version__)"

echo "== 1. packed attention: per-token losses as alone, no label across a boundary"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_packing.py -k "alone or boundary or every_label"

echo "== 2. throughput on $train"
grep -v -E '^(packing|max_tokens_per_batch):' "$CONFIG" > "$work/padded.yaml"  # today's padded recipe
padded=(--config "$work/padded.yaml" --recipe_flags "${flags[*]} --per_device_train_batch_size 32
    --pad_to_multiple_of 64 --torch_compile false --train_sampling_strategy group_by_length")
eager=(--config "$CONFIG" --recipe_flags "${flags[*]} --torch_compile false")
compiled=(--config "$CONFIG" --recipe_flags "${flags[*]}")
for name in padded eager compiled; do
    declare -n recipe=$name
    timeout 200 python3 benchmarks/bench_training.py --worker loop "${recipe[@]}" --train_file "$train" \
        --validation_file "$valid" --dialogues 100000 --steps "$STEPS" --warmup "$WARMUP" --cache_dir "$work/cache" |
        grep '^BENCH ' | sed "s/^BENCH /$name /" >> "$work/bench.txt"
done
python3 - "$work/bench.txt" "$PEAK_TFLOPS" "$DRY_RUN" <<'EOF' | tee "$results/throughput.md"
import json, sys

rows = [line.split(" ", 1) for line in open(sys.argv[1])]
peak, dry = float(sys.argv[2]) * 1e12, sys.argv[3] == "1"
labels = {"padded": "padded, 32 dialogues, eager", "eager": "packed, 32x512 rows, eager",
          "compiled": "packed, 32x512 rows, compiled + fused AdamW"}
print(f"{'(DRY RUN, CPU) ' if dry else ''}MFU against {peak / 1e12:.0f} TFLOP/s dense bf16\n")
print("| batches | non-pad tokens/s | step ms | non-pad tokens/step | peak GiB | MFU |")
print("|---|---|---|---|---|---|")
for name, text in rows:
    r = json.loads(text)
    mfu = 6 * r["params"] * r["tokens_per_s"] / peak
    peak_mem = f"{r['peak_memory_gib']:.2f}" if r["peak_memory_gib"] is not None else "-"
    print(f"| {labels[name]} | {r['tokens_per_s']:,.0f} | {1000 * r['seconds'] / r['steps']:.1f} | "
          f"{r['tokens'] / r['steps']:,.0f} | {peak_mem} | {100 * mfu:.1f}% |")
step = [json.loads(t) for n, t in rows if n == "compiled"][0]
open(sys.argv[1] + ".step_s", "w").write(str(step["seconds"] / step["steps"]))
print(f"\n{step['params'] / 1e6:.1f}M parameters, {step['steps']} steps timed after the warm-up, {step['device']}")
EOF

steps=$(python3 -c "print(max(10, int($QUALITY_SECONDS / $(cat "$work/bench.txt.step_s"))))")
echo "== 3. quality: $steps steps (~${QUALITY_SECONDS}s) of the recipe, then medbot-eval on $valid"
timeout $((QUALITY_SECONDS + 150)) python3 recipes/finetune_accelerate.py --config "$CONFIG" "${flags[@]}" \
    --train_file "$train" --validation_file "$valid" --output_dir "$work/model" --max_steps "$steps" \
    --eval_strategy no --save_strategy no --load_best_model_at_end false --logging_steps 50 --disable_tqdm true \
    2>&1 | grep -E "Final evaluation|\"loss\"|optimizer steps|Packed" | tail -n 12
device=cuda
[[ "$DRY_RUN" == 1 ]] && device=cpu
timeout 150 python3 recipes/eval.py --model_name_or_path "$work/model" --test_file "$valid" \
    --max_dialogues "$EVAL_DIALOGUES" --output_dir "$results/eval" --device "$device" --update_model_card false
cp "$work/model/eval_results.json" "$results/train_eval_results.json"
python3 - "$results/eval/samples.jsonl" <<'EOF' | tee "$results/replies.md"
import json, sys

print("Five replies to real questions from valid.txt (the model is not a doctor):\n")
for line in open(sys.argv[1], encoding="utf-8").readlines()[:5]:
    row = json.loads(line)
    print(f"患者: {row['history']}\n医生 (real): {row['reference']}\n模型: {row['reply']}\n")
EOF
