"""Pipeline overhead: the main pipeline through kfp.local vs the same stages called directly, same data and parameters;
and the per-task overhead of inference before and after one task per model.

overhead share = (kfp.local wall time - direct wall time) / kfp.local wall time. Caching is off for the kfp runs.
Per-task overhead = (kfp.local wall time of the tasks - the same work called directly) / number of tasks. "Before":
a model's validation fold and the test set in two infer_op tasks, as the pipelines did; "after": one
infer_validation_and_test_op task. Both run in this process's run, on the same model and data, alternated.
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
    from trashseg.components.evaluate.compare import CompareParams, DeltaSpec, run_compare
    from trashseg.components.evaluate.logic import EvaluateParams, run_evaluate
    from trashseg.components.infer.logic import TTA, InferJob, InferParams, run_infer_jobs
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
    params = TrainParams(preset=TINY_PROFILE["preset"], epochs=PARAMS["epochs"])  # the preset's rates, as the profile leaves them
    infer = InferParams(tta=TTA.parse("flip"), save_probs=True)
    run_train([root / "train", root / "aug"], root / "split", root / "m1", params)
    run_infer_jobs(root / "m1", [InferJob(root / "train", root / "v1", root / "split", 0), InferJob(root / "test", root / "t1")], infer)
    run_pseudo_label(root / "t1", root / "test", root / "pseudo")
    run_train([root / "train", root / "aug", root / "pseudo"], root / "split", root / "m2", params)
    run_infer_jobs(root / "m2", [InferJob(root / "train", root / "v2", root / "split", 0), InferJob(root / "test", root / "t2")], infer)
    run_ensemble([root / "v2", root / "v1"], root / "ve", EnsembleParams(method="soft"))
    run_evaluate(root / "ve", root / "train", root / "metrics", root / "split", EvaluateParams(fold=0))
    run_compare({"round1": root / "v1", "round2": root / "v2", "ensemble": root / "ve"}, root / "train", root / "comparison.json",
                [DeltaSpec("pseudo_label_gain", "round2", "round1"), DeltaSpec("ensemble_gain", "ensemble", "best")], root / "split",
                CompareParams(fold=0))
    run_ensemble([root / "t2", root / "t1"], root / "te", EnsembleParams(method="soft"))
    run_submit(root / "te", root / "submission.csv")


def _infer_pipelines(model: Path, train: Path, split: Path, test: Path):
    """(before, after): a model's validation fold and the test set as two infer_op tasks, and as one task."""
    from kfp import dsl

    from trashseg.components.infer.component import infer_op, infer_validation_and_test_op

    def imported(path: Path, cls=dsl.Dataset):
        return dsl.importer(artifact_uri=str(path), artifact_class=cls, reimport=False).output

    @dsl.pipeline(name="infer-two-tasks")
    def before():
        trained = imported(model, dsl.Model)
        infer_op(model=trained, dataset=imported(train), split=imported(split), fold=0, tta="flip", save_probs=True)
        infer_op(model=trained, dataset=imported(test), tta="flip", save_probs=True)

    @dsl.pipeline(name="infer-one-task")
    def after():
        infer_validation_and_test_op(model=imported(model, dsl.Model), dataset=imported(train), split=imported(split),
                                     test_dataset=imported(test), fold=0, tta="flip", save_probs=True)

    return before, after


def infer_tasks_before_after(direct_root: Path, kfp_root: Path, repeats: int = 2) -> dict:
    """Per-task overhead of a model's inference, two tasks (before) against one (after), alternated ``repeats`` times."""
    import statistics

    from kfp import local

    from trashseg.components.infer.logic import TTA, InferJob, InferParams, run_infer, run_infer_jobs

    model, train, split, test = (direct_root / name for name in ("m1", "train", "split", "test"))
    infer = InferParams(tta=TTA.parse("flip"), save_probs=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(kfp_root), enable_caching=False)
    before, after = _infer_pipelines(model, train, split, test)
    times: dict[str, list[float]] = {"before_kfp_s": [], "after_kfp_s": [], "before_direct_s": [], "after_direct_s": []}
    for k in range(repeats):
        out = kfp_root / f"direct{k}"
        for key, work in (("before_kfp_s", before), ("after_kfp_s", after),
                          ("before_direct_s", lambda: (run_infer(model, train, out / "v", infer, split, 0),
                                                       run_infer(model, test, out / "t", infer))),
                          ("after_direct_s", lambda: run_infer_jobs(model, [InferJob(train, out / "vj", split, 0),
                                                                            InferJob(test, out / "tj")], infer))):
            started = time.perf_counter()
            work()
            times[key].append(time.perf_counter() - started)
    medians = {key: statistics.median(values) for key, values in times.items()}
    before_tasks, after_tasks = 2, 1  # kfp.local runs tasks one after another, as a one-GPU cluster node would
    per_task_before = (medians["before_kfp_s"] - medians["before_direct_s"]) / before_tasks
    per_task_after = (medians["after_kfp_s"] - medians["after_direct_s"]) / after_tasks
    return {**medians, "before_tasks": before_tasks, "after_tasks": after_tasks, "repeats": repeats,
            "per_task_overhead_before_s": per_task_before, "per_task_overhead_after_s": per_task_after}


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
        summary = run_local("trashseg", root / "kfp" / "data", root / "kfp", params=PARAMS, caching=False)
        kfp_s = time.perf_counter() - started
        tasks = len(list(Path(summary["run_dir"]).glob("*/executor_output.json"))) if "run_dir" in summary else None
        infer_tasks = infer_tasks_before_after(root / "direct", root / "infer_tasks")
    figures = {"direct_s": direct_s, "kfp_local_s": kfp_s, "overhead_s": kfp_s - direct_s,
               "overhead_share": (kfp_s - direct_s) / kfp_s, "tasks": tasks,
               "overhead_per_task_s": (kfp_s - direct_s) / tasks if tasks else None, "params": PARAMS,
               "infer_tasks": infer_tasks}
    save("pipeline_overhead", figures)
    return figures


if __name__ == "__main__":
    print(run())
