"""kfp component: augment (copy-paste)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def augment_op(
    dataset: dsl.Input[dsl.Dataset],
    split: dsl.Input[dsl.Dataset],
    augmented: dsl.Output[dsl.Dataset],
    fold: int = 0,
    paste_classes: list = ["Battery", "Clothing"],
    paste_counts: dict = {"Battery": 50, "Clothing": 100},
    paste_scale: list = [0.5, 1.5],
    paste_rotate: float = 30.0,
    seed: int = 42,
):
    """Copy-paste rare-class instances onto training-fold images with the most Background.

    The other parameters are AugmentParams' fields (components/augment/params.py): same names, defaults and help.

    Args:
        dataset: Labeled dataset.
        split: Its split.
        augmented: The new images, a training-only dataset tied to this fold.
    """
    from trashseg.components.augment.logic import run_augment
    from trashseg.components.augment.params import AugmentParams
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task

    publish(augmented, run_augment(dataset.path, split.path, augmented.path, from_task(AugmentParams, locals())))
