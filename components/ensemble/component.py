"""kfp components: ensemble of a collected list (fold models) or of two predictions (rounds)."""

from typing import List

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ensemble_op(members: dsl.Input[List[dsl.Dataset]], ensembled: dsl.Output[dsl.Dataset], method: str = "hard", weights: str = ""):
    """Vote over predictions collected from a ParallelFor (in loop order).

    Args:
        members: Predictions of the same images.
        ensembled: The combined predictions.
        method: hard (ties: earliest member wins) or soft (mean probabilities).
        weights: Comma-separated weights ('' = equal).
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp
    from trashseg.components.ensemble.logic import run_ensemble
    from trashseg.components.ensemble.params import EnsembleParams

    publish(ensembled, run_ensemble([m.path for m in members], ensembled.path, from_kfp(EnsembleParams, method=method, weights=weights)))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ensemble_pair_op(first: dsl.Input[dsl.Dataset], second: dsl.Input[dsl.Dataset], ensembled: dsl.Output[dsl.Dataset],
                     method: str = "soft", weights: str = ""):
    """Vote over two predictions (for example two pseudo-labeling rounds); ``first`` wins hard-vote ties.

    Args:
        first: Predictions listed first.
        second: Predictions of the same images.
        ensembled: The combined predictions.
        method: soft (mean probabilities; the default, since a hard vote of two is the first one) or hard.
        weights: Comma-separated weights ('' = equal).
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_kfp
    from trashseg.components.ensemble.logic import run_ensemble
    from trashseg.components.ensemble.params import EnsembleParams

    publish(ensembled, run_ensemble([first.path, second.path], ensembled.path, from_kfp(EnsembleParams, method=method, weights=weights)))
