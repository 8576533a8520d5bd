"""kfp component: ingest. Only kfp at module level; the body is a call into the stage."""

from kfp import dsl

from pipelines.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ingest_op(coco_file: str, images_dir: str, dataset: dsl.Output[dsl.Dataset], exif: str = "transpose",
              input_fingerprint: str = ""):
    """COCO JSON + image folder -> dataset artifact.

    Args:
        coco_file: Path of the COCO annotations JSON, as the task sees it.
        images_dir: Directory the file_name entries are relative to.
        dataset: The dataset artifact (directory).
        exif: 'transpose' (annotations refer to the EXIF-rotated image) or 'ignore'.
        input_fingerprint: Hash of the input files; changes the cache key when their content changes.
    """
    from components.common.kfp_io import publish
    from components.ingest.logic import IngestParams, run_ingest

    publish(dataset, run_ingest(coco_file, images_dir, dataset.path, params=IngestParams(exif=exif)))
