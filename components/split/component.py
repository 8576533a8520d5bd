"""kfp component: split."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def split_op(
    dataset: dsl.Input[dsl.Dataset],
    split: dsl.Output[dsl.Dataset],
    report: dsl.Output[dsl.HTML],
    folds: int = 5,
    seed: int = 42,
):
    """StratifiedGroupKFold folds with an HTML table of each fold's class shares.

    The other parameters are SplitParams' fields (components/split/params.py): same names, defaults and help.

    Args:
        dataset: Dataset artifact.
        split: The split artifact.
        report: Per-fold class shares beside the whole set's.
    """
    from trashseg.components.common.kfp_io import publish, write_html
    from trashseg.components.common.params import from_task
    from trashseg.components.split.logic import run_split
    from trashseg.components.split.params import SplitParams
    from trashseg.components.split.report import split_report

    publish(split, run_split(dataset.path, split.path, from_task(SplitParams, locals())))
    write_html(report, split_report(split.path))
