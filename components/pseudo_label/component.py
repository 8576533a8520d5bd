"""kfp component: pseudo-label."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def pseudo_label_op(
    predictions: dsl.Input[dsl.Dataset],
    dataset: dsl.Input[dsl.Dataset],
    pseudo_labeled: dsl.Output[dsl.Dataset],
    min_confidence: float = 0.0,
    round: int = 1,
):
    """Predictions on unlabeled images -> training-only labeled dataset.

    The other parameters are PseudoLabelParams' fields (components/pseudo_label/params.py): same names, defaults and
    help.

    Args:
        predictions: Predictions on the unlabeled dataset.
        dataset: The unlabeled dataset.
        pseudo_labeled: Labeled dataset (masks = predictions, 255 below min_confidence).
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task
    from trashseg.components.pseudo_label.logic import run_pseudo_label
    from trashseg.components.pseudo_label.params import PseudoLabelParams

    params = from_task(PseudoLabelParams, locals())
    publish(pseudo_labeled, run_pseudo_label(predictions.path, dataset.path, pseudo_labeled.path, params))
