"""kfp component: evaluate (metrics the Kubeflow UI draws: scalars and the confusion matrix)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def evaluate_op(predictions: dsl.Input[dsl.Dataset], dataset: dsl.Input[dsl.Dataset], results: dsl.Output[dsl.Dataset],
                metrics: dsl.Output[dsl.Metrics], confusion: dsl.Output[dsl.ClassificationMetrics], report: dsl.Output[dsl.HTML],
                split: dsl.Input[dsl.Dataset] = None, fold: int = -1):
    """mIoU, accuracies, per-class IoU and the confusion matrix of predictions against ground truth.

    Args:
        predictions: Predictions artifact (images of a labeled dataset).
        dataset: The labeled dataset.
        results: The metrics contract (JSON + Parquet tables).
        metrics: mIoU, mean per-image mIoU, pixel and mean class accuracy, per-class IoU.
        confusion: Pixel confusion matrix.
        report: Per-class table and the worst images.
        split: With ``fold``, score that fold's images of the dataset (every one needs a prediction).
        fold: Validation fold to score (-1 = the whole dataset).
    """
    from trashseg.components.common.kfp_io import publish, write_html
    from trashseg.components.common.params import from_kfp
    from trashseg.components.evaluate.logic import run_evaluate
    from trashseg.components.evaluate.params import EvaluateParams
    from trashseg.components.evaluate.report import evaluation_report, log_to_kfp

    params = from_kfp(EvaluateParams, fold=fold)
    scored_split = split.path if split is not None and params.fold is not None else None
    publish(results, run_evaluate(predictions.path, dataset.path, results.path, scored_split, params))
    log_to_kfp(results.path, metrics, confusion)
    write_html(report, evaluation_report(results.path, predictions.path, dataset.path))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def compare_rounds_op(round1: dsl.Input[dsl.Dataset], round2: dsl.Input[dsl.Dataset], ensemble: dsl.Input[dsl.Dataset],
                      dataset: dsl.Input[dsl.Dataset], comparison: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics],
                      report: dsl.Output[dsl.HTML], split: dsl.Input[dsl.Dataset] = None, fold: int = -1, resamples: int = 1000,
                      confidence: float = 0.95, seed: int = 0):
    """The report's experiments on the validation fold: what pseudo-labels gave (round 2 - round 1) and what the
    ensemble gave over its best round, each with a paired bootstrap interval over images.

    Args:
        round1: Validation predictions of the round-1 model.
        round2: Validation predictions of the round-2 model (trained with pseudo-labels).
        ensemble: Validation predictions of their ensemble.
        dataset: The labeled dataset.
        comparison: The comparison JSON (members' mIoU, deltas, intervals).
        metrics: The same as scalars for the Kubeflow UI.
        report: A table of members and deltas.
        split: With ``fold``, compare on that fold's images.
        fold: Validation fold (-1 = the whole dataset).
        resamples: Bootstrap resamples.
        confidence: Interval coverage.
        seed: Seed of the resampling.
    """
    from pathlib import Path

    from trashseg.components.common.kfp_io import log_metrics, write_html
    from trashseg.components.common.params import from_kfp
    from trashseg.components.evaluate.compare import DeltaSpec, comparison_html, flat_metrics, run_compare
    from trashseg.components.evaluate.params import CompareParams

    params = from_kfp(CompareParams, fold=fold, resamples=resamples, confidence=confidence, seed=seed)
    scored_split = Path(split.path) if split is not None and params.fold is not None else None
    summary = run_compare({"round1": Path(round1.path), "round2": Path(round2.path), "ensemble": Path(ensemble.path)}, Path(dataset.path),
                          Path(comparison.path), [DeltaSpec("pseudo_label_gain", "round2", "round1"),
                                                  DeltaSpec("ensemble_gain", "ensemble", "best")], scored_split, params,
                          overwrite=True)
    log_metrics(metrics, flat_metrics(summary))
    write_html(report, comparison_html(summary))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def compare_copy_paste_op(with_paste: dsl.Input[dsl.Dataset], without_paste: dsl.Input[dsl.Dataset], dataset: dsl.Input[dsl.Dataset],
                          comparison: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics], report: dsl.Output[dsl.HTML],
                          split: dsl.Input[dsl.Dataset] = None, fold: int = -1, classes: str = "Battery,Clothing",
                          resamples: int = 1000, confidence: float = 0.95, seed: int = 0):
    """The report's copy-paste experiment on the validation fold: the IoU of each pasted class (and the mIoU) of a model
    trained with copy-paste minus one trained without it, each with a paired bootstrap interval over images.

    Args:
        with_paste: Validation predictions of the model trained with the copy-paste dataset (round 1).
        without_paste: Validation predictions of the same training without it.
        dataset: The labeled dataset.
        comparison: The comparison JSON (members' mIoU, deltas, intervals).
        metrics: copy_paste_gain (mIoU) and copy_paste_gain_<class> per pasted class, with their intervals.
        report: A table of members and deltas.
        split: With ``fold``, compare on that fold's images.
        fold: Validation fold (-1 = the whole dataset).
        classes: The pasted classes, comma-separated.
        resamples: Bootstrap resamples.
        confidence: Interval coverage.
        seed: Seed of the resampling.
    """
    from pathlib import Path

    from trashseg.components.common.kfp_io import log_metrics, write_html
    from trashseg.components.common.params import from_kfp
    from trashseg.components.evaluate.compare import DeltaSpec, comparison_html, flat_metrics, run_compare
    from trashseg.components.evaluate.params import CompareParams

    params = from_kfp(CompareParams, fold=fold, resamples=resamples, confidence=confidence, seed=seed)
    pasted = [name.strip() for name in classes.split(",") if name.strip()]
    deltas = [DeltaSpec("copy_paste_gain", "with_paste", "without_paste")]
    deltas += [DeltaSpec(f"copy_paste_gain_{name.replace(' ', '_')}", "with_paste", "without_paste", name) for name in pasted]
    scored_split = Path(split.path) if split is not None and params.fold is not None else None
    summary = run_compare({"with_paste": Path(with_paste.path), "without_paste": Path(without_paste.path)}, Path(dataset.path),
                          Path(comparison.path), deltas, scored_split, params, overwrite=True)
    log_metrics(metrics, flat_metrics(summary))
    write_html(report, comparison_html(summary))
