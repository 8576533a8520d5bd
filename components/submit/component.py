"""kfp component: submit (competition CSV)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def submit_op(
    predictions: dsl.Input[dsl.Dataset],
    submission: dsl.Output[dsl.Artifact],
    submission_size: int = 256,
    downsample: str = "nearest",
):
    """Predictions -> CSV image_id,PredictionString at submission_size x submission_size.

    The other parameters are SubmitParams' fields (components/submit/params.py): same names, defaults and help.

    Args:
        predictions: Predictions on the test set.
        submission: The CSV file.
    """
    from trashseg.components.common.params import from_task
    from trashseg.components.submit.logic import run_submit
    from trashseg.components.submit.params import SubmitParams

    rows = run_submit(predictions.path, submission.path, from_task(SubmitParams, locals()), overwrite=True)
    submission.metadata["rows"] = rows
