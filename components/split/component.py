"""kfp component: split."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def split_op(
    dataset: dsl.Input[dsl.Dataset],
    split: dsl.Output[dsl.Dataset],
    report: dsl.Output[dsl.HTML],
    raw: dsl.Input[dsl.Dataset] = None,
    validation_annotations: str = "",
    folds: int = 5,
    seed: int = 42,
):
    """StratifiedGroupKFold folds, or the user's own validation images, with an HTML table of each fold's class shares.

    The knobs folds and seed are SplitParams' fields (components/split/params.py): same names, defaults and help.

    Args:
        dataset: Dataset artifact.
        split: The split artifact.
        report: Per-fold class shares beside the whole set's.
        raw: The imported training folder (where validation_annotations is).
        validation_annotations: A COCO file inside the training folder whose images are the validation fold (fold 0;
            the rest is fold 1), e.g. the competition's val.json; empty: StratifiedGroupKFold.
    """
    from trashseg.components.common.coco import inside_folder
    from trashseg.components.common.kfp_io import publish, write_html
    from trashseg.components.common.params import from_task
    from trashseg.components.split.logic import run_split
    from trashseg.components.split.params import SplitParams
    from trashseg.components.split.report import split_report

    given = (
        inside_folder(raw.path, validation_annotations, "validation_annotations") if validation_annotations else None
    )
    publish(split, run_split(dataset.path, split.path, from_task(SplitParams, locals()), validation_coco=given))
    write_html(report, split_report(split.path))
