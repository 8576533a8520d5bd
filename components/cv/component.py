"""kfp component: cross-validated mIoU over the folds' evaluations."""

from typing import List

from kfp import dsl

from components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def cv_summary_op(fold_results: dsl.Input[List[dsl.Dataset]], metrics: dsl.Output[dsl.Metrics], report: dsl.Output[dsl.HTML]):
    """Mean and spread of the per-fold validation mIoU.

    Args:
        fold_results: Metrics artifacts of each fold's evaluation.
        metrics: cv_miou_mean, cv_miou_std, min, max.
        report: Per-fold and per-class table.
    """
    from components.common.kfp_io import log_metrics, write_html
    from components.cv.logic import cv_summary

    summary, html = cv_summary([r.path for r in fold_results])
    log_metrics(metrics, summary)
    write_html(report, html)
