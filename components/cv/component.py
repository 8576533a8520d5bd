"""kfp component: cross-validated mIoU over the folds' evaluations."""

from typing import List

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def cv_summary_op(
    fold_results: dsl.Input[List[dsl.Dataset]],
    test_dataset: dsl.Input[dsl.Dataset],
    test_predictions: dsl.Input[List[dsl.Dataset]],
    metrics: dsl.Output[dsl.Metrics],
    report: dsl.Output[dsl.HTML],
):
    """Mean and spread of the per-fold validation mIoU; with a labeled test set, each fold's validation-versus-test gap.

    Args:
        fold_results: Metrics artifacts of each fold's evaluation.
        test_dataset: The test set (its labels, where it has them, score each fold model).
        test_predictions: Each fold model's test predictions, in the order of fold_results.
        metrics: cv_miou_mean, cv_miou_std, min, max (and cv_test_miou_mean, cv_gap_mean/min/max with test labels).
        report: Per-fold and per-class table.
    """
    from trashseg.components.common.kfp_io import log_metrics, write_html
    from trashseg.components.cv.logic import cv_summary, mious_on_test

    summary, html = cv_summary(
        [r.path for r in fold_results], mious_on_test(test_dataset.path, [p.path for p in test_predictions])
    )
    log_metrics(metrics, summary)
    write_html(report, html)
