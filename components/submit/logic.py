"""submit: predictions -> competition CSV, and a CSV back to predictions (to ensemble CSVs from elsewhere)."""

from __future__ import annotations

from pathlib import Path

from trashseg.components.common.log import get_logger, progress
from trashseg.components.submit.params import SubmitParams
from trashseg.components.submit.resize import downsample
from trashseg.data_contracts.artifact import Manifest, atomic_directory, atomic_file, check_not_an_input, prepare_output
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import CONTRACT as PREDICTIONS_CONTRACT
from trashseg.data_contracts.predictions import Predictions, PredictionsWriter
from trashseg.data_contracts.submission import HEADER, read_submission, write_submission

log = get_logger("trashseg.submit")
SUBMISSION_FILE = "submission.csv"  # the file users upload, inside the pipelines' submission artifact


def template_order(template: Path, names: list[str]) -> list[str]:
    """The rows' order a sample submission asks for: its image_ids when it lists them (the same set as ``names``), else
    ``names`` as they are (a header-only template: the dataset's order, which is the test JSON's)."""
    listed = [image_id for image_id, _ in read_submission(template, None, None, ids_only=True)]
    if not listed:
        return names
    expected = set(names)
    for row, image_id in enumerate(listed, start=2):
        if image_id not in expected:
            raise ContractError(
                template,
                f"image {image_id!r} is not among the {len(names)} images predicted",
                record=f"row {row}",
                field="image_id",
            )
    listed_set = set(listed)
    missing = [name for name in names if name not in listed_set]
    if missing:
        raise ContractError(
            template, f"has no row for image {missing[0]!r} ({len(missing)} of {len(names)} missing)", field="image_id"
        )
    return listed


def run_submit(
    predictions_dir: Path,
    out_csv: Path,
    params: SubmitParams | None = None,
    overwrite: bool = False,
    template: Path | None = None,
) -> int:
    """One row per image, in the template's order when it lists image ids, else in the predictions' (= the dataset's)
    order; returns the row count."""
    params = params or SubmitParams()
    params.check()
    size, method = params.submission_size, params.downsample
    inputs = [Path(predictions_dir), *([Path(template)] if template else [])]
    check_not_an_input(Path(out_csv), inputs)
    predictions = Predictions(predictions_dir)
    if not predictions.image_ids:
        raise ContractError(predictions_dir, "holds no image: nothing to submit", field="images")
    by_name = {str(r.file_name): int(r.image_id) for r in predictions.images.itertuples(index=False)}
    order = template_order(Path(template), list(by_name)) if template else list(by_name)
    n = predictions.classes.num_classes
    rows = (
        (name, downsample(predictions.labels(by_name[name]), size, method, n)) for name in progress(order, "submit")
    )
    with atomic_file(Path(out_csv), overwrite, inputs, looks_like=",".join(HEADER).encode()) as tmp:
        count = write_submission(tmp, rows)
    log.info("wrote %d rows (%dx%d, %s) to %s", count, size, size, method, out_csv)
    return count


def run_decode(
    csv_path: Path,
    out: Path,
    params: SubmitParams | None = None,
    dataset_dir: Path | None = None,
    overwrite: bool = False,
) -> Manifest:
    """CSV -> predictions at the CSV's own size (its rows' value count, a square). With a dataset, rows are matched to
    its images by file_name."""
    params = params or SubmitParams()
    params.check()
    inputs = [Path(csv_path), *([Path(dataset_dir)] if dataset_dir else [])]
    prepare_output(Path(out), overwrite, PREDICTIONS_CONTRACT, inputs)
    dataset = Dataset(dataset_dir) if dataset_dir else None
    classes = dataset.classes if dataset else ClassTable()
    by_name = {str(r.file_name): int(r.image_id) for r in dataset.images.itertuples(index=False)} if dataset else {}
    with atomic_directory(Path(out), overwrite, PREDICTIONS_CONTRACT, inputs) as tmp:
        writer = PredictionsWriter(tmp, classes, with_probs=False)
        decoded: set[str] = set()
        size = None
        for row_number, (file_name, labels) in enumerate(read_submission(csv_path, None, classes.num_classes)):
            size = labels.shape[0]
            if dataset is not None and file_name not in by_name:
                raise ContractError(
                    csv_path,
                    f"image {file_name!r} is not in dataset {dataset_dir}",
                    record=f"row {row_number + 2}",
                    field="image_id",
                )
            writer.add(by_name.get(file_name, row_number), file_name, labels)
            decoded.add(file_name)
        if not decoded:
            raise ContractError(csv_path, "has a header but no rows: nothing to decode", record="row 2")
        missing = [name for name in by_name if name not in decoded]
        if missing:
            raise ContractError(
                csv_path,
                f"has no row for image {missing[0]!r} of {dataset_dir} ({len(missing)} of {len(by_name)} "
                "images missing)",
                field="image_id",
            )
        extra = {
            "source": "csv",
            "csv": Path(csv_path).name,
            **({"dataset_hash": dataset.content_hash} if dataset else {}),
        }
        manifest = writer.finish({"stage": "submit-decode", "params": {"submission_size": size}}, extra)
    log.info("decoded %s into predictions %s", csv_path, out)
    return manifest
