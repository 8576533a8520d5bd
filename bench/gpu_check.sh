#!/usr/bin/env bash
# One GPU check, all within 8 minutes: real-size UperNet-ConvNeXt and Mask2Former at 512x512, bf16 vs fp32,
# training steps and inference. Installs what is missing from wheels carried in .whl/ (see bench/README).
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if ! python3 -c "import torch, transformers, safetensors, pyarrow, PIL, tqdm" 2>/dev/null; then
  if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
  else
    echo "missing Python packages and no .whl/ wheelhouse carried"; exit 2
  fi
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
timeout 480 python3 bench/gpu_check.py
