"""kfp component: summary (where a run's results went, and its headline metrics)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def summary_op(
    summary: dsl.Output[dsl.Artifact],
    submission: dsl.Input[dsl.Artifact] = None,
    evaluation: dsl.Input[dsl.Dataset] = None,
    comparison: dsl.Input[dsl.Artifact] = None,
    validation_predictions: dsl.Input[dsl.Dataset] = None,
    model: dsl.Input[dsl.Model] = None,
    test_predictions: dsl.Input[dsl.Dataset] = None,
    cv_metrics: dsl.Input[dsl.Metrics] = None,
):
    """Each given result's URI and path, with the evaluation's metrics and the comparisons, in one JSON.

    Args:
        summary: The JSON (its metadata also names each result's URI).
        submission: The submission CSV.
        evaluation: The evaluation of the validation fold.
        comparison: The rounds and ensemble comparison.
        validation_predictions: The predictions the evaluation scored.
        model: The final model.
        test_predictions: The test set's predictions that were submitted.
        cv_metrics: The cross-validation summary.
    """
    from trashseg.components.summary.logic import write_summary

    given = dict(
        submission=submission,
        evaluation=evaluation,
        comparison=comparison,
        validation_predictions=validation_predictions,
        model=model,
        test_predictions=test_predictions,
        cv_metrics=cv_metrics,
    )
    written = write_summary(summary.path, {name: artifact for name, artifact in given.items() if artifact is not None})
    summary.metadata.update(written["uris"])
