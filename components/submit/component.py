"""kfp component: submit (competition CSV)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def submit_op(
    predictions: dsl.Input[dsl.Dataset],
    submission: dsl.Output[dsl.Artifact],
    raw: dsl.Input[dsl.Dataset] = None,
    template: str = "",
    submission_size: int = 256,
    downsample: str = "nearest",
):
    """Predictions -> ``submission.csv`` (image_id,PredictionString at submission_size x submission_size), the file
    users upload, inside the submission artifact.

    The knobs submission_size and downsample are SubmitParams' fields (components/submit/params.py).

    Args:
        predictions: Predictions on the test set.
        submission: A folder holding submission.csv.
        raw: The imported test folder (where template is).
        template: A sample submission inside the test folder (e.g. sample_submission.csv): the rows follow its order
            when it lists image ids; empty, or a header alone: the test set's order.
    """
    import os

    from trashseg.components.common.coco import inside_folder
    from trashseg.components.common.params import from_task
    from trashseg.components.submit.logic import SUBMISSION_FILE, run_submit
    from trashseg.components.submit.params import SubmitParams

    given = inside_folder(raw.path, template, "template") if template else None
    os.makedirs(submission.path, exist_ok=True)
    out = os.path.join(submission.path, SUBMISSION_FILE)
    rows = run_submit(predictions.path, out, from_task(SubmitParams, locals()), overwrite=True, template=given)
    submission.metadata["rows"] = rows
    submission.metadata["file"] = SUBMISSION_FILE
