"""kfp components: evaluate (metrics the Kubeflow UI draws) and compare (deltas between prediction sets)."""

from typing import Optional

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def evaluate_op(
    predictions: dsl.Input[dsl.Dataset],
    dataset: dsl.Input[dsl.Dataset],
    results: dsl.Output[dsl.Dataset],
    metrics: dsl.Output[dsl.Metrics],
    confusion: dsl.Output[dsl.ClassificationMetrics],
    report: dsl.Output[dsl.HTML],
    split: dsl.Input[dsl.Dataset] = None,
    fold: Optional[int] = None,
    subset: bool = False,
):
    """mIoU, accuracies, per-class IoU and the confusion matrix of predictions against ground truth.

    The other parameters are EvaluateParams' fields (components/evaluate/params.py): same names, defaults and help.

    Args:
        predictions: Predictions artifact (images of a labeled dataset).
        dataset: The labeled dataset.
        results: The metrics contract (JSON + Parquet tables).
        metrics: mIoU, mean per-image mIoU, pixel and mean class accuracy, per-class IoU.
        confusion: Pixel confusion matrix.
        report: Per-class table and the worst images.
        split: With ``fold``, score that fold's images of the dataset (every one needs a prediction).
    """
    from trashseg.components.common.kfp_io import publish, write_html
    from trashseg.components.common.params import from_task
    from trashseg.components.evaluate.logic import run_evaluate
    from trashseg.components.evaluate.params import EvaluateParams
    from trashseg.components.evaluate.report import evaluation_report, log_to_kfp

    params = from_task(EvaluateParams, locals())
    publish(
        results,
        run_evaluate(predictions.path, dataset.path, results.path, split.path if split is not None else None, params),
    )
    log_to_kfp(results.path, metrics, confusion)
    write_html(report, evaluation_report(results.path, predictions.path, dataset.path))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def compare_op(
    dataset: dsl.Input[dsl.Dataset],
    first: dsl.Input[dsl.Dataset],
    second: dsl.Input[dsl.Dataset],
    comparison: dsl.Output[dsl.Artifact],
    metrics: dsl.Output[dsl.Metrics],
    report: dsl.Output[dsl.HTML],
    third: dsl.Input[dsl.Dataset] = None,
    names: list = ["first", "second", "third"],
    deltas: list = [],
    classes: list = [],
    split: dsl.Input[dsl.Dataset] = None,
    fold: Optional[int] = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
):
    """The report's experiments: the mIoU difference between prediction sets, each with a paired bootstrap interval
    over images (round 2 - round 1: the pseudo-label gain; the ensemble - its best round; with - without copy-paste).

    The knobs fold, resamples, confidence and seed are CompareParams' fields (components/evaluate/params.py).

    Args:
        dataset: The labeled dataset.
        first: Predictions of the first member.
        second: Predictions of the second member.
        comparison: The comparison JSON (members' mIoU, deltas, intervals).
        metrics: Every delta and its interval as scalars for the Kubeflow UI.
        report: A table of members and deltas.
        third: Predictions of an optional third member.
        names: The members' names, in the order first, second, third.
        deltas: NAME=A-B, the mIoU of member A minus that of member B ('best': the best other member), as
            `trashseg compare --delta` takes them.
        classes: For each delta, also one for the IoU of each class named here (NAME_Class).
        split: With ``fold``, compare on that fold's images.
    """
    from pathlib import Path

    from trashseg.components.common.kfp_io import log_metrics, write_html
    from trashseg.components.common.params import from_task
    from trashseg.components.evaluate.compare import DeltaSpec, comparison_html, flat_metrics, run_compare
    from trashseg.components.evaluate.params import CompareParams

    members = {name: Path(a.path) for name, a in zip(names, (first, second, third)) if a is not None}
    specs = [DeltaSpec.parse(text) for text in deltas]
    specs += [DeltaSpec(f"{s.name}_{c.replace(' ', '_')}", s.better, s.worse, c) for s in list(specs) for c in classes]
    summary = run_compare(
        members,
        Path(dataset.path),
        Path(comparison.path),
        specs,
        Path(split.path) if split is not None else None,
        from_task(CompareParams, locals()),
        overwrite=True,
    )
    log_metrics(metrics, flat_metrics(summary))
    write_html(report, comparison_html(summary))
