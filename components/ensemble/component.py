"""kfp component: ensemble (two predictions, or a list collected from a ParallelFor)."""

from typing import List, Optional

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ensemble_op(
    ensembled: dsl.Output[dsl.Dataset],
    first: dsl.Input[dsl.Dataset] = None,
    second: dsl.Input[dsl.Dataset] = None,
    members: dsl.Input[List[dsl.Dataset]] = None,
    vote: str = "hard",
    weights: Optional[list] = None,
):
    """Vote over predictions of the same images: ``first`` and ``second`` (two rounds), then ``members`` (fold models
    collected from a ParallelFor, in loop order). Why both forms: kfp builds an artifact list only with dsl.Collected.

    The other parameters are EnsembleParams' fields (components/ensemble/params.py): same names, defaults and help.

    Args:
        ensembled: The combined predictions.
        first: Predictions listed first (hard-vote ties go to the earliest).
        second: Predictions listed second.
        members: Predictions collected from a ParallelFor, listed after first and second.
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task
    from trashseg.components.ensemble.logic import run_ensemble
    from trashseg.components.ensemble.params import EnsembleParams

    inputs = [a.path for a in (first, second) if a is not None] + [m.path for m in members or []]
    publish(ensembled, run_ensemble(inputs, ensembled.path, from_task(EnsembleParams, locals())))
