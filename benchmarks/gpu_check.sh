#!/usr/bin/env bash
# One short GPU check of the accelerate loop on the ancestor-size GPT-2, for a 1-GPU H100 machine (~3 min, 8 at most).
#
#   bash benchmarks/gpu_check.sh --prepare    # here, once: copies `datasets` & co. into build/gpu_site (ignored)
#   bash benchmarks/gpu_check.sh              # on the GPU machine, from the repo root; carry build/gpu_site
#
# It trains recipes/medical_dialogue/config_gpt2_base_gpu.yaml as the recipe sets it (12 layers, 768 dim,
# n_positions 1024, bf16, 32 dialogues per step, group_by_length, batches padded to a multiple of 64) for STEPS
# optimizer steps after WARMUP, through medbot_hf.accelerate_loop, and prints non-pad tokens/s, peak GPU memory and
# MFU = 6 x parameters x tokens/s over 989 TFLOP/s, the H100 SXM's dense bf16 peak (an H100 PCIe's is 756; the H200's is also 989). ../shared is not on
# the GPU machine, so the corpus is data/sample/train.txt repeated REPEATS times: short dialogues (~90 tokens), so
# the figures are a floor for the real corpus's longer ones. JOIN=N joins every N sample dialogues into one longer
# consultation (JOIN=5: ~470 characters, near the recipe's 512-token cut), so each step carries more tokens.
#
# The GPU image has torch, transformers and accelerate but not `datasets` (/work/.library/device/KINDS.md); it and
# its two missing dependencies are imported from build/gpu_site when the image lacks them.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-300}
WARMUP=${WARMUP:-20}
REPEATS=${REPEATS:-40}
JOIN=${JOIN:-1}
# RECIPE_FLAGS: more flags for the recipe; RECIPE_FLAGS='--pad_to_multiple_of 1' pads only to the batch's longest,
# against the recipe's 64.

if [[ "${1:-}" == "--prepare" ]]; then
    site=$(python3 -c "import datasets, os; print(os.path.dirname(os.path.dirname(datasets.__file__)))")
    rm -rf build/gpu_site && mkdir -p build/gpu_site
    for name in datasets dill multiprocess _multiprocess "datasets-*.dist-info" "dill-*.dist-info" \
        "multiprocess-*.dist-info"; do
        cp -r "$site"/$name build/gpu_site/
    done
    find build/gpu_site -name __pycache__ -prune -exec rm -rf {} +
    du -sh build/gpu_site
    exit 0
fi

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 -c "import datasets" 2>/dev/null || export PYTHONPATH="$PYTHONPATH:$PWD/build/gpu_site"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import datasets, torch, transformers, accelerate as a; print('torch', torch.__version__, 'cuda',
torch.version.cuda, '| transformers', transformers.__version__, '| accelerate', a.__version__, '| datasets',
datasets.__version__)"

work=$(mktemp -d)
for _ in $(seq "$REPEATS"); do cat data/sample/train.txt; printf '\n\n'; done |
    awk -v join="$JOIN" 'BEGIN { RS = ""; ORS = "" } { print $0 "\n"; if (NR % join == 0) print "\n" }' \
    > "$work/train.txt"
echo "corpus: sample train.txt x $REPEATS, every $JOIN dialogues joined: $(grep -c . "$work/train.txt") utterances"
result=$(timeout 450 python3 benchmarks/bench_training.py --worker loop \
    --config recipes/medical_dialogue/config_gpt2_base_gpu.yaml --train_file "$work/train.txt" \
    --validation_file data/sample/valid.txt --dialogues 100000 --steps "$STEPS" --warmup "$WARMUP" \
    --cache_dir "$work/cache" --recipe_flags "${RECIPE_FLAGS:-}" | grep '^BENCH ')
python3 - "$result" <<'EOF'
import json, sys, time

import torch

r = json.loads(sys.argv[1][len("BENCH "):])
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for i in range(13):  # 3 warm-ups, then 10 timed products
    if i == 3:
        torch.cuda.synchronize()
        start = time.perf_counter()
    a @ a
torch.cuda.synchronize()
measured = 2 * 8192**3 * 10 / (time.perf_counter() - start)
flops = 6 * r["params"] * r["tokens_per_s"]  # the tied embedding once, as the LM head's matmul
print(f"device {r['device']}: {r['params'] / 1e6:.1f}M params, {r['steps']} steps timed")
print(f"step time: {1000 * r['seconds'] / r['steps']:.1f} ms, non-pad tokens per step: {r['tokens'] / r['steps']:,.0f}")
print(f"non-pad tokens/s: {r['tokens_per_s']:,.0f}")
print(f"peak GPU memory (allocated): {r['peak_memory_gib']:.2f} GiB")
print(f"MFU vs 989 TFLOP/s (H100 SXM dense bf16 peak): {100 * flops / 989e12:.2f}%")
print(f"MFU vs this GPU's measured 8192^3 bf16 matmul, {measured / 1e12:.0f} TFLOP/s: {100 * flops / measured:.2f}%")
EOF
rm -rf "$work"
