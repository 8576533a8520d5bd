"""kfp component: infer (GPU image)."""

from kfp import dsl

from trashseg.components.common.images import GPU_IMAGE


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def infer_op(model: dsl.Input[dsl.Model], dataset: dsl.Input[dsl.Dataset], predictions: dsl.Output[dsl.Dataset],
             split: dsl.Input[dsl.Dataset] = None, fold: int = -1, tta: str = "flip", save_probs: bool = False, batch_size: int = 8):
    """Label maps (and probabilities) for a dataset, or for one fold of it.

    Args:
        model: Model artifact.
        dataset: Dataset to predict.
        predictions: The predictions artifact.
        split: Optional split: with fold >= 0, predict only that fold's images.
        fold: Fold to predict (-1 = every image).
        tta: Test-time augmentation, e.g. 'flip,scales=0.75,1.0,1.25' ('' = none).
        save_probs: Keep per-class probabilities (soft ensembles, pseudo-label confidence).
        batch_size: Images per forward pass.
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp
    from trashseg.components.infer.logic import run_infer
    from trashseg.components.infer.params import InferParams

    subset = split.path if (split is not None and fold >= 0) else None
    params = from_kfp(InferParams, tta=tta, save_probs=save_probs, batch_size=batch_size)
    publish(predictions, run_infer(model.path, dataset.path, predictions.path, params, subset, fold if subset else None))


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def infer_validation_and_test_op(model: dsl.Input[dsl.Model], dataset: dsl.Input[dsl.Dataset], split: dsl.Input[dsl.Dataset],
                                 test_dataset: dsl.Input[dsl.Dataset], validation_predictions: dsl.Output[dsl.Dataset],
                                 test_predictions: dsl.Output[dsl.Dataset], fold: int = 0, tta: str = "flip",
                                 save_probs: bool = False, batch_size: int = 8):
    """A model's validation fold and the test set in one task: one start-up and one model load instead of two.

    Args:
        model: Model artifact.
        dataset: The labeled dataset the model was trained on.
        split: Its split.
        test_dataset: The test set.
        validation_predictions: Predictions of the fold's validation images.
        test_predictions: Predictions of every test image.
        fold: The validation fold.
        tta: Test-time augmentation, e.g. 'flip,scales=0.75,1.0,1.25' ('' = none).
        save_probs: Keep per-class probabilities in both (soft ensembles, pseudo-label confidence).
        batch_size: Images per forward pass.
    """
    from pathlib import Path

    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp
    from trashseg.components.infer.logic import InferJob, run_infer_jobs
    from trashseg.components.infer.params import InferParams

    params = from_kfp(InferParams, tta=tta, save_probs=save_probs, batch_size=batch_size)
    jobs = [InferJob(Path(dataset.path), Path(validation_predictions.path), Path(split.path), fold),
            InferJob(Path(test_dataset.path), Path(test_predictions.path))]
    validation_manifest, test_manifest = run_infer_jobs(Path(model.path), jobs, params)
    publish(validation_predictions, validation_manifest)
    publish(test_predictions, test_manifest)
