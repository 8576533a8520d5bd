"""kfp component: export (CPU image: the export and its check run on the CPU)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def export_op(
    model: dsl.Input[dsl.Model],
    exported: dsl.Output[dsl.Model],
    dataset: dsl.Input[dsl.Dataset] = None,
    check_images: int = 8,
):
    """The model as an ONNX graph (exported-model artifact), written only if its labels agree with the model's.

    The other parameters are ExportParams' fields (components/export/params.py): same names, defaults and help.

    Args:
        model: Model artifact.
        exported: The exported-model artifact (model.onnx and its card).
        dataset: Optional dataset whose images the check uses (default: generated images).
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task
    from trashseg.components.export.logic import run_export
    from trashseg.components.export.params import ExportParams

    publish(
        exported,
        run_export(
            model.path,
            exported.path,
            dataset.path if dataset is not None else None,
            from_task(ExportParams, locals()),
        ),
    )
