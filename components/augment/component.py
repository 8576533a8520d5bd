"""kfp component: augment (copy-paste)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def augment_op(dataset: dsl.Input[dsl.Dataset], split: dsl.Input[dsl.Dataset], augmented: dsl.Output[dsl.Dataset], fold: int = 0,
               classes: str = "Battery,Clothing", counts: str = "Battery=50,Clothing=100", scale: str = "0.5,1.5",
               rotate: float = 30.0, seed: int = 42):
    """Copy-paste rare-class instances onto training-fold images with the most Background.

    Args:
        dataset: Labeled dataset.
        split: Its split.
        augmented: The new images, a training-only dataset tied to this fold.
        fold: Validation fold (never used as source or canvas).
        classes: Comma-separated class names to paste.
        counts: New images per class, CLASS=N,...
        scale: MIN,MAX random scale.
        rotate: Random rotation range in degrees (+/-).
        seed: Random seed.
    """
    from trashseg.components.augment.logic import run_augment
    from trashseg.components.augment.params import AugmentParams
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp

    params = from_kfp(AugmentParams, fold=fold, classes=classes, counts=counts, scale=scale, rotate=rotate, seed=seed)
    publish(augmented, run_augment(dataset.path, split.path, augmented.path, params))
