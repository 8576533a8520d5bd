"""kfp component: evaluate (metrics the Kubeflow UI draws: scalars and the confusion matrix)."""

from kfp import dsl

from components.common.images import CPU_IMAGE


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
    from components.common.kfp_io import publish, write_html
    from components.evaluate.logic import run_evaluate
    from components.evaluate.report import evaluation_report, log_to_kfp

    scored = (split.path, fold) if split is not None and fold >= 0 else (None, None)
    publish(results, run_evaluate(predictions.path, dataset.path, results.path, *scored))
    log_to_kfp(results.path, metrics, confusion)
    write_html(report, evaluation_report(results.path, predictions.path, dataset.path))
