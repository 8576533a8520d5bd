"""kfp component: ingest. Only kfp at module level; the body is a call into the stage."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ingest_op(
    raw: dsl.Input[dsl.Dataset],
    dataset: dsl.Output[dsl.Dataset],
    annotations: str = "annotations.json",
    images: str = "images",
    fingerprint: str = "",
    exif: str = "transpose",
    max_pixels: int = 64_000_000,
    unlabeled: bool = False,
):
    """A raw folder (COCO JSON + images, brought in by a dsl.importer from its URI) -> dataset artifact.

    The knobs exif, max_pixels and unlabeled are IngestParams' fields (components/ingest/params.py).

    Args:
        raw: The imported folder: s3://, gs:// or minio:// on a cluster (KFP's launcher copies it into the pod),
            a local folder under kfp.local.
        dataset: The dataset artifact (directory).
        annotations: The COCO JSON's path inside the folder.
        images: The folder the file_name entries are relative to, inside the imported folder.
        fingerprint: Hash of the folder's content; changes the cache key when the content at the same URI changes.
    """
    from trashseg.components.common.kfp_io import publish
    from trashseg.components.common.params import from_task
    from trashseg.components.ingest.logic import raw_folder_paths, run_ingest
    from trashseg.components.ingest.params import IngestParams

    coco_file, images_dir = raw_folder_paths(raw.path, annotations, images)
    publish(dataset, run_ingest(coco_file, images_dir, dataset.path, params=from_task(IngestParams, locals())))
