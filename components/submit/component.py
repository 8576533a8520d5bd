"""kfp component: submit (competition CSV)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def submit_op(predictions: dsl.Input[dsl.Dataset], submission: dsl.Output[dsl.Artifact], size: int = 256, downsample: str = "nearest"):
    """Predictions -> CSV image_id,PredictionString at size x size.

    Args:
        predictions: Predictions on the test set.
        submission: The CSV file.
        size: Side of the submitted label maps.
        downsample: nearest (the competition baseline's) or mode.
    """
    from trashseg.components.common.params import from_kfp
    from trashseg.components.submit.logic import run_submit
    from trashseg.components.submit.params import SubmitParams

    rows = run_submit(predictions.path, submission.path, from_kfp(SubmitParams, size=size, downsample=downsample), overwrite=True)
    submission.metadata["rows"] = rows
