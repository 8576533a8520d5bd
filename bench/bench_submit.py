"""submit: the competition baseline's ' '.join(str(e) ...) vs our vectorised encoder, 819 rows of 256x256."""

from __future__ import annotations

import numpy as np

from bench.common import compare, save
from trashseg.data_contracts.submission import encode_labels


def run(images: int = 819) -> dict:
    rng = np.random.default_rng(0)
    masks = [rng.choice(11, size=(256, 256), p=[0.8] + [0.02] * 10).astype(np.uint8) for _ in range(images)]

    def baseline():
        return [" ".join(str(e) for e in mask.flatten()) for mask in masks]

    def ours():
        return [encode_labels(mask) for mask in masks]

    result = compare(ours, baseline, repeats=3)
    ours_rows, base_rows = result["_results"]
    result.update({"images": images, "identical": ours_rows == base_rows, "rows_per_s": images / result["ours_s"]})
    save("submit", result)
    return result


if __name__ == "__main__":
    print({k: v for k, v in run().items() if not k.startswith("_")})
