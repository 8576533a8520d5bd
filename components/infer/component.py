"""kfp component: infer (GPU image)."""

from kfp import dsl

from trashseg.components.common.images import GPU_IMAGE


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def infer_op(
    model: dsl.Input[dsl.Model],
    dataset: dsl.Input[dsl.Dataset],
    split: dsl.Input[dsl.Dataset],
    test_dataset: dsl.Input[dsl.Dataset],
    validation_predictions: dsl.Output[dsl.Dataset],
    test_predictions: dsl.Output[dsl.Dataset],
    fold: int = 0,
    tta_flip: bool = True,
    tta_scales: list = [1.0],
    batch_size: int = 8,
    save_probs: bool = False,
):
    """A model's validation fold and the test set in one task: one start-up and one model load for both.

    The other parameters are InferParams' fields (components/infer/params.py): same names, defaults and help.

    Args:
        model: Model artifact.
        dataset: The labeled dataset the model was trained on.
        split: Its split.
        test_dataset: The test set.
        validation_predictions: Predictions of the fold's validation images.
        test_predictions: Predictions of every test image.
        fold: The validation fold.
    """
    from pathlib import Path

    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task
    from trashseg.components.infer.logic import InferJob, run_infer_jobs
    from trashseg.components.infer.params import InferParams

    jobs = [
        InferJob(Path(dataset.path), Path(validation_predictions.path), Path(split.path), fold),
        InferJob(Path(test_dataset.path), Path(test_predictions.path)),
    ]
    validation_manifest, test_manifest = run_infer_jobs(Path(model.path), jobs, from_task(InferParams, locals()))
    publish(validation_predictions, validation_manifest)
    publish(test_predictions, test_manifest)
