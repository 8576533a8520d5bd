#!/usr/bin/env bash
# The one GPU run of issues 16, 13 (item 5) and 15 (item 5), in priority order within a time budget:
#   the data loader alone; every real preset's training variants (FLOPs, images/s, TFLOP/s, MFU, memory; torch.compile
#   for the two with targets first); one-GPU DDP against plain training; trashseg train on the real photos at 512 px.
# Each part runs in its own process under `timeout`, appending JSON lines to $OUT/gpu_train.jsonl, so one slow
# compile cannot lose what came before. Prepare the real photos on a machine with the project installed, then carry
# .gpu_data:
#   trashseg ingest --coco ../shared/data/taco-trash11/annotations.json --images ../shared/data/taco-trash11/images --out .gpu_data/taco
#   trashseg split --dataset .gpu_data/taco --folds 5 --out .gpu_data/taco_split
# Then: python -m bench.gpu_train_report $OUT/gpu_train.jsonl --json bench/results/gpu_train_<device>.json
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRASHSEG_PROGRESS=0
source bench/use_source_tree.sh  # trashseg.* from this checkout, no install needed
OUT=${OUT:-$(mktemp -d)}
RESULTS=$OUT/gpu_train.jsonl
DEADLINE=$(( $(date +%s) + ${BUDGET_S:-500} ))
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"

part() {  # part MIN_SECONDS ARGS...: run one measurement if at least MIN_SECONDS are left
  local need=$1; shift
  local left=$(( DEADLINE - $(date +%s) ))
  if (( left < need )); then echo "skipped (only ${left}s left): $*"; return; fi
  local started=$(date +%s)
  timeout "$left" python3 -m bench.gpu_train "$@" --out "$RESULTS" 2>>"$OUT/stderr.log" | cut -c1-400
  echo "rc=$? in $(( $(date +%s) - started ))s: $*"
}

part 30 loader --dataset .gpu_data/taco --split .gpu_data/taco_split --size 512 --batch 16 --batches 8 --workers 0,4,8,14
part 150 preset upernet-convnext
part 150 preset mask2former-swin
part 150 preset eomt-dinov2-large --variants before,fused,batch
part 40 preset upernet-swin --variants before,fused,batch
part 40 preset beit-upernet --variants before,fused,batch
part 60 real-train --dataset .gpu_data/taco --split .gpu_data/taco_split --model upernet-convnext --epochs 6 --batch 16 --lr 1e-4
part 100 preset upernet-swin --variants compiled
part 100 preset beit-upernet --variants compiled
tail -5 "$OUT/stderr.log" | cut -c1-300
