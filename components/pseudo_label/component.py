"""kfp component: pseudo-label."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def pseudo_label_op(predictions: dsl.Input[dsl.Dataset], dataset: dsl.Input[dsl.Dataset], pseudo_labeled: dsl.Output[dsl.Dataset],
                    min_confidence: float = 0.0, round_number: int = 1):
    """Predictions on unlabeled images -> training-only labeled dataset.

    Args:
        predictions: Predictions on the unlabeled dataset.
        dataset: The unlabeled dataset.
        pseudo_labeled: Labeled dataset (masks = predictions, 255 below min_confidence).
        min_confidence: Ignore pixels whose top probability is lower (0 = keep all, as the report did).
        round_number: Pseudo-labeling round, recorded with the data.
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp
    from trashseg.components.pseudo_label.logic import run_pseudo_label
    from trashseg.components.pseudo_label.params import PseudoLabelParams

    params = from_kfp(PseudoLabelParams, min_confidence=min_confidence, round_number=round_number)
    publish(pseudo_labeled, run_pseudo_label(predictions.path, dataset.path, pseudo_labeled.path, params))
