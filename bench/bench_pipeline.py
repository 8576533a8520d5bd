"""Pipeline overhead: the main pipeline through kfp.local vs the same stages called directly, same data and parameters.

overhead share = (kfp.local wall time - direct wall time) / kfp.local wall time. Caching is off for the kfp run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import save

PARAMS = {"epochs": 3, "folds": 5, "paste_counts": {"Battery": 4, "Clothing": 4}}


def direct(data: Path, root: Path) -> None:
    """The main pipeline's stages, in order, as plain function calls."""
    from trashseg.components.augment.logic import AugmentParams, run_augment
    from trashseg.components.ensemble.logic import EnsembleParams, run_ensemble
    from trashseg.components.evaluate.compare import CompareParams, DeltaSpec, run_compare
    from trashseg.components.evaluate.logic import EvaluateParams, run_evaluate
    from trashseg.components.infer.logic import InferJob, InferParams, run_infer_jobs
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.pseudo_label.logic import run_pseudo_label
    from trashseg.components.split.logic import SplitParams, run_split
    from trashseg.components.submit.logic import run_submit
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.pipelines.run_local import TINY_PROFILE

    run_ingest(data / "train/annotations.json", data / "train/images", root / "train")
    run_ingest(data / "test/annotations.json", data / "test/images", root / "test")
    run_split(root / "train", root / "split", SplitParams(folds=PARAMS["folds"]))
    run_augment(
        root / "train", root / "split", root / "aug", AugmentParams(fold=0, paste_counts=PARAMS["paste_counts"])
    )
    params = TrainParams(
        preset=TINY_PROFILE["preset"], epochs=PARAMS["epochs"]
    )  # the preset's rates, as the profile leaves them
    infer = InferParams(save_probs=True)
    run_train([root / "train", root / "aug"], root / "split", root / "m1", params)
    run_infer_jobs(
        root / "m1",
        [InferJob(root / "train", root / "v1", root / "split", 0), InferJob(root / "test", root / "t1")],
        infer,
    )
    run_pseudo_label(root / "t1", root / "test", root / "pseudo")
    run_train([root / "train", root / "aug", root / "pseudo"], root / "split", root / "m2", params)
    run_infer_jobs(
        root / "m2",
        [InferJob(root / "train", root / "v2", root / "split", 0), InferJob(root / "test", root / "t2")],
        infer,
    )
    run_ensemble([root / "v2", root / "v1"], root / "ve", EnsembleParams(vote="soft"))
    run_evaluate(root / "ve", root / "train", root / "metrics", root / "split", EvaluateParams(fold=0))
    run_compare(
        {"round1": root / "v1", "round2": root / "v2", "ensemble": root / "ve"},
        root / "train",
        root / "comparison.json",
        [DeltaSpec("pseudo_label_gain", "round2", "round1"), DeltaSpec("ensemble_gain", "ensemble", "best")],
        root / "split",
        CompareParams(fold=0),
    )
    run_ensemble([root / "t2", root / "t1"], root / "te", EnsembleParams(vote="soft"))
    run_submit(root / "te", root / "submission.csv")


def run() -> dict:
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.pipelines.run_local import run_local

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "kfp" / "data", train_images=48, test_images=12, image_size=128, seed=0)
        started = time.perf_counter()
        direct(root / "kfp" / "data", root / "direct")
        direct_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = run_local("trashseg", root / "kfp" / "data", root / "kfp", params=PARAMS, caching=False)
        kfp_s = time.perf_counter() - started
        tasks = len(list(Path(summary["run_dir"]).glob("*/executor_output.json"))) if "run_dir" in summary else None
    figures = {
        "direct_s": direct_s,
        "kfp_local_s": kfp_s,
        "overhead_s": kfp_s - direct_s,
        "overhead_share": (kfp_s - direct_s) / kfp_s,
        "tasks": tasks,
        "overhead_per_task_s": (kfp_s - direct_s) / tasks if tasks else None,
        "params": PARAMS,
    }
    save("pipeline_overhead", figures)
    return figures


if __name__ == "__main__":
    print(run())
