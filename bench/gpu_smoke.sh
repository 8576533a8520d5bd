#!/usr/bin/env bash
# GPU smoke of the real train/infer commands on CUDA: bf16 autocast for every tiny family, fp16 with GradScaler for
# Mask2Former (fp32 matcher), channels-last, checkpoint + --resume, TTA inference, contract validation.
# Prepare the data on a machine with the project installed (the GPU image may lack pycocotools), then carry .gpu_smoke:
#   trashseg sample-data --out /tmp/sd --train-images 64 --test-images 8 --image-size 128
#   trashseg ingest --coco /tmp/sd/train/annotations.json --images /tmp/sd/train/images --out .gpu_smoke/train
#   trashseg ingest --coco /tmp/sd/test/annotations.json --images /tmp/sd/test/images --out .gpu_smoke/test
#   trashseg split --dataset .gpu_smoke/train --folds 4 --out .gpu_smoke/split
# Run: OUT=/tmp/out bash bench/gpu_smoke.sh   (figures from an H100 run: bench/results/gpu_smoke_h100.txt)
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRASHSEG_PROGRESS=0
source bench/use_source_tree.sh  # trashseg.* from this checkout, no install needed
S=.gpu_smoke
OUT=${OUT:-$(mktemp -d)}
PY=${PY:-python3}
t() { "$PY" -m trashseg.components.cli "$@"; echo "rc=$? for $*" | cut -c1-160; }
for preset in upernet-convnext-tiny mask2former-swin-tiny beit-upernet-tiny eomt-tiny; do
  t train --dataset $S/train --split $S/split --fold 0 --preset $preset --epochs 4 --out $OUT/m-$preset 2>&1 | grep -E "training|epoch 4|wrote|rc=|Error" | cut -c1-200
done
t train --dataset $S/train --split $S/split --fold 0 --preset mask2former-swin-tiny --epochs 2 --precision fp16 --out $OUT/m-fp16 2>&1 | grep -E "training|epoch 2|rc=|Error" | cut -c1-200
t train --dataset $S/train --split $S/split --fold 0 --preset upernet-convnext-tiny --epochs 3 --precision fp32 --out $OUT/m-fp32 --checkpoint-dir $OUT/ck --keep-checkpoints 2>&1 | grep -E "epoch 3|rc=" | cut -c1-200
t train --dataset $S/train --split $S/split --fold 0 --preset upernet-convnext-tiny --epochs 5 --precision fp32 --out $OUT/m-fp32b --checkpoint-dir $OUT/ck --resume 2>&1 | grep -E "resuming|epoch 5|rc=" | cut -c1-200
t infer --model $OUT/m-upernet-convnext-tiny --dataset $S/test --out $OUT/p --tta-scales 0.75 1.0 1.25 --save-probs 2>&1 | grep -E "predicting|rc=|Error" | cut -c1-200
"$PY" -c "
import json, sys
from trashseg.data_contracts.predictions import validate_predictions
p = validate_predictions('$OUT/p'); print('predictions ok', len(p.image_ids), p.labels(p.image_ids[0]).shape)
for m in ['upernet-convnext-tiny', 'mask2former-swin-tiny', 'beit-upernet-tiny', 'eomt-tiny', 'fp16']:
    c = json.load(open(f'$OUT/m-{m}/trashseg_model.json'))
    print(m, 'best val mIoU', round(c['metrics']['val_miou'], 3), c['training']['autocast'], c['training']['device_used'])
"
