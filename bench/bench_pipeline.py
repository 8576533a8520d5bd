"""Pipeline overhead: the main pipeline through kfp.local vs the same stages called directly, same data and parameters.

overhead share = (kfp.local wall time - direct wall time) / kfp.local wall time. Caching is off for the kfp run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import save

PARAMS = {"epochs": 3, "folds": 5, "paste_counts": "Battery=4,Clothing=4"}


def direct(data: Path, root: Path) -> None:
    """The main pipeline's stages, in order, as plain function calls."""
    from trashseg.components.augment.logic import AugmentParams, parse_counts, run_augment
    from trashseg.components.ensemble.logic import EnsembleParams, run_ensemble
    from trashseg.components.evaluate.logic import run_evaluate
    from trashseg.components.infer.logic import TTA, InferParams, run_infer
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.pseudo_label.logic import run_pseudo_label
    from trashseg.components.split.logic import SplitParams, run_split
    from trashseg.components.submit.logic import run_submit
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.pipelines.run_local import TINY_PROFILE

    run_ingest(data / "train/annotations.json", data / "train/images", root / "train")
    run_ingest(data / "test/annotations.json", data / "test/images", root / "test")
    run_split(root / "train", root / "split", SplitParams(folds=PARAMS["folds"]))
    run_augment(root / "train", root / "split", root / "aug", AugmentParams(fold=0, counts=parse_counts(PARAMS["paste_counts"])))
    params = TrainParams(model=TINY_PROFILE["preset"], epochs=PARAMS["epochs"], lr_backbone=TINY_PROFILE["lr_backbone"],
                         lr_head=TINY_PROFILE["lr_head"])
    infer = InferParams(tta=TTA.parse("flip"), save_probs=True)
    run_train([root / "train", root / "aug"], root / "split", root / "m1", params)
    run_infer(root / "m1", root / "test", root / "t1", infer)
    run_pseudo_label(root / "t1", root / "test", root / "pseudo")
    run_train([root / "train", root / "aug", root / "pseudo"], root / "split", root / "m2", params)
    run_infer(root / "m2", root / "test", root / "t2", infer)
    run_infer(root / "m1", root / "train", root / "v1", infer, root / "split", 0)
    run_infer(root / "m2", root / "train", root / "v2", infer, root / "split", 0)
    run_ensemble([root / "v2", root / "v1"], root / "ve", EnsembleParams(method="soft"))
    run_evaluate(root / "ve", root / "train", root / "metrics")
    run_ensemble([root / "t2", root / "t1"], root / "te", EnsembleParams(method="soft"))
    run_submit(root / "te", root / "submission.csv")


def run() -> dict:
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.pipelines.run_local import run_local

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "kfp" / "data", train_images=48, test_images=12, size=128, seed=0)
        started = time.perf_counter()
        direct(root / "kfp" / "data", root / "direct")
        direct_s = time.perf_counter() - started
        started = time.perf_counter()
        run_local("trashseg", root / "kfp" / "data", root / "kfp", params=PARAMS, caching=False)
        kfp_s = time.perf_counter() - started
    figures = {"direct_s": direct_s, "kfp_local_s": kfp_s, "overhead_s": kfp_s - direct_s,
               "overhead_share": (kfp_s - direct_s) / kfp_s, "tasks": 15, "params": PARAMS}
    save("pipeline_overhead", figures)
    return figures


if __name__ == "__main__":
    print(run())
