"""ingest: masks, EXIF, RLE, real data, and every bad-input case (message + nothing left behind)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from trashseg.components.ingest.logic import IngestParams, run_ingest
from trashseg.data_contracts.dataset import Dataset, validate_dataset
from trashseg.data_contracts.errors import ContractError


def ingest(case, out, **params):
    return run_ingest(case.write(), case.images, out, params=IngestParams(**params))


def test_small_object_painted_on_top_of_large_one(coco_case, tmp_path):
    # List the small Battery first: painting must still follow descending area.
    coco_case.data["annotations"][0], coco_case.data["annotations"][1] = (
        coco_case.data["annotations"][1],
        coco_case.data["annotations"][0],
    )
    ingest(coco_case, tmp_path / "ds")
    dataset = validate_dataset(tmp_path / "ds")
    mask = dataset.mask(1)
    assert mask[7, 7] == 9  # Battery on the Metal
    assert mask[3, 15] == 4  # Metal around it
    assert mask[18, 28] == 0
    assert set(dataset.annotations["category_id"]) == {2, 4, 9}


def test_rle_compressed_and_uncompressed_and_iscrowd(coco_case, tmp_path):
    binary = np.zeros((20, 30), dtype=np.uint8, order="F")
    binary[10:14, 20:28] = 1
    compressed = mask_utils.encode(binary)
    compressed["counts"] = compressed["counts"].decode()
    flat = binary.flatten(order="F")
    runs, value, count = [], 0, 0
    for v in flat:
        if v == value:
            count += 1
        else:
            runs.append(count)
            value, count = v, 1
    runs.append(count)
    coco_case.data["annotations"] = [
        {"id": 1, "image_id": 1, "category_id": 4, "segmentation": compressed, "iscrowd": 1},
        {"id": 2, "image_id": 2, "category_id": 2, "segmentation": {"size": [20, 30], "counts": runs}, "iscrowd": 1},
    ]
    ingest(coco_case, tmp_path / "ds")
    dataset = Dataset(tmp_path / "ds")
    assert np.array_equal(dataset.mask(1) == 4, binary.astype(bool))
    assert np.array_equal(dataset.mask(2) == 2, binary.astype(bool))
    assert dataset.annotations["iscrowd"].tolist() == [1, 1]
    assert dataset.annotations["area"].tolist() == [32.0, 32.0]  # computed when absent


def _jpeg_with_orientation(raw: np.ndarray, orientation: int) -> bytes:
    image = Image.fromarray(raw)
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def _orientation_case(coco_case, transposed: bool):
    # Raw pixel grid 40 wide x 20 high with a bright block at raw x 0..9, y 0..9.
    raw = np.zeros((20, 40, 3), dtype=np.uint8)
    raw[0:10, 0:10] = 255
    (coco_case.images / "r.jpg").write_bytes(_jpeg_with_orientation(raw, 6))  # 6 = rotate 90 clockwise to view
    if transposed:
        # Viewed upright the image is 20 wide x 40 high; the raw top-left block is now at top-right.
        image = {"id": 5, "file_name": "r.jpg", "width": 20, "height": 40}
        polygon = [10, 0, 20, 0, 20, 10, 10, 10]
    else:
        image = {"id": 5, "file_name": "r.jpg", "width": 40, "height": 20}
        polygon = [0, 0, 10, 0, 10, 10, 0, 10]
    coco_case.data["images"] = [image]
    coco_case.data["annotations"] = [
        {"id": 1, "image_id": 5, "category_id": 4, "segmentation": [polygon], "area": 100.0}
    ]


@pytest.mark.parametrize("policy", ["transpose", "ignore"])
def test_exif_orientation_policies_keep_image_and_mask_aligned(coco_case, tmp_path, policy):
    _orientation_case(coco_case, transposed=policy == "transpose")
    ingest(coco_case, tmp_path / "ds", exif=policy)
    dataset = validate_dataset(tmp_path / "ds")
    image, mask = dataset.image(5), dataset.mask(5)
    assert image.shape[:2] == mask.shape == ((40, 20) if policy == "transpose" else (20, 40))
    bright = image.mean(axis=2) > 128
    labeled = mask == 4
    assert (bright & labeled).sum() / labeled.sum() > 0.9
    assert dataset.record(5)["orientation"] == (6 if policy == "transpose" else 1)
    assert dataset.image_bytes(5) == (coco_case.images / "r.jpg").read_bytes()  # original bytes, never re-encoded


def test_exif_mismatch_suggests_the_other_policy(coco_case, tmp_path):
    _orientation_case(coco_case, transposed=False)
    with pytest.raises(ContractError, match="image 5: field 'width/height'.*--exif ignore"):
        ingest(coco_case, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def _set(path, value):
    def mutate(case):
        target = case.data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(case):
        target = case.data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _raw_json(text):
    def mutate(case):
        case.write = lambda: (case.json_path.write_text(text), case.json_path)[1]

    return mutate


def _image_file(name, content):
    def mutate(case):
        (case.images / name).write_bytes(content)

    return mutate


def _huge_image(case):
    Image.new("RGB", (3000, 3000)).save(case.images / "a.png")
    case.data["images"][0].update(width=3000, height=3000)


def _missing_json(case):
    case.write = lambda: case.root / "nope.json"


BAD_INPUTS = {
    "missing file": (_missing_json, r"nope.json: cannot read annotation file"),
    "not json": (_raw_json("{not json"), r"annotations.json: not valid JSON"),
    "not an object": (_raw_json("[1, 2]"), r"top level must be a JSON object"),
    "missing images": (_delete(["images"]), r"field 'images': missing or not a list"),
    "missing width": (_delete(["images", 0, "width"]), r"image 1: field 'width': missing key"),
    "missing segmentation": (
        _delete(["annotations", 2, "segmentation"]),
        r"annotation 12: field 'segmentation': missing key",
    ),
    "duplicate image id": (_set(["images", 1, "id"], 1), r"image 1: field 'id': duplicate image id"),
    "duplicate annotation id": (
        _set(["annotations", 1, "id"], 10),
        r"annotation 10: field 'id': duplicate annotation id",
    ),
    "duplicate file name": (_set(["images", 1, "file_name"], "a.png"), r"image 2: field 'file_name'"),
    "unknown image": (
        _set(["annotations", 0, "image_id"], 99),
        r"annotation 10: field 'image_id': refers to unknown image 99",
    ),
    "unknown category id": (
        _set(["annotations", 0, "category_id"], 77),
        r"annotation 10: field 'category_id': refers to unknown category 77",
    ),
    "unknown class name": (
        _set(["categories", 0, "name"], "Cardboard"),
        r"category 4: field 'name': unknown class name 'Cardboard'",
    ),
    "two-point polygon": (
        _set(["annotations", 2, "segmentation"], [[0, 0, 5, 5]]),
        r"annotation 12: field 'segmentation': polygon 0 has 2 points",
    ),
    "polygon outside": (
        _set(["annotations", 2, "segmentation"], [[0, 0, 50, 0, 50, 20]]),
        r"annotation 12: field 'segmentation': polygon 0 reaches outside",
    ),
    "image missing": (
        _set(["images", 1, "file_name"], "gone.png"),
        r"gone.png: image 2: field 'file_name': image file not found",
    ),
    "undecodable": (_image_file("b.png", b"\x89PNG garbage"), r"b.png: image 2: image cannot be decoded"),
    "size disagrees": (
        _set(["images", 1, "width"], 31),
        r"image 2: field 'width/height': JSON says 31x20 but b.png decodes to 30x20",
    ),
    "escapes directory": (
        _set(["images", 1, "file_name"], "../secret.png"),
        r"image 2: field 'file_name': file_name '../secret.png' escapes",
    ),
    "too large": (_huge_image, r"a.png: image 1: .*over the limit"),
    "bad iscrowd": (_set(["annotations", 0, "iscrowd"], 2), r"annotation 10: field 'iscrowd'"),
}


@pytest.mark.parametrize("case_name", sorted(BAD_INPUTS))
def test_bad_input_names_the_problem_and_leaves_nothing(coco_case, tmp_path, case_name):
    mutate, message = BAD_INPUTS[case_name]
    mutate(coco_case)
    out = tmp_path / "out" / "ds"
    with pytest.raises(ContractError, match=message):
        run_ingest(coco_case.write(), coco_case.images, out, params=IngestParams(max_pixels=4_000_000))
    assert not out.exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_cli_bad_input_exits_2_with_one_line(coco_case, tmp_path):
    coco_case.data["annotations"][0]["image_id"] = 42
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trashseg.components.cli",
            "ingest",
            "--coco",
            str(coco_case.write()),
            "--images",
            str(coco_case.images),
            "--out",
            str(tmp_path / "ds"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "annotation 10: field 'image_id': refers to unknown image 42" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ds").exists()


def test_unlabeled_coco_gives_dataset_without_masks(sample_root, tmp_path):
    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", tmp_path / "test")
    dataset = validate_dataset(tmp_path / "test")
    assert not dataset.labeled and len(dataset.image_ids) == 8 and len(dataset.annotations) == 0
    with pytest.raises(ContractError, match="unlabeled"):
        dataset.mask(dataset.image_ids[0])


def test_same_input_same_artifact(coco_case, tmp_path):
    first = ingest(coco_case, tmp_path / "a")
    second = ingest(coco_case, tmp_path / "b")
    assert first.content_hash == second.content_hash


def test_custom_class_list(coco_case, tmp_path):
    from trashseg.data_contracts.classes import ClassTable

    coco_case.data["categories"] = [{"id": 4, "name": "can"}, {"id": 9, "name": "cell"}, {"id": 2, "name": "sheet"}]
    run_ingest(
        coco_case.write(), coco_case.images, tmp_path / "ds", ClassTable.from_names(["bg", "sheet", "can", "cell"])
    )
    dataset = Dataset(tmp_path / "ds")
    assert dataset.classes.names == ("bg", "sheet", "can", "cell")
    assert dataset.mask(1)[7, 7] == 3


def _reference_mask(coco: COCO, image_id: int) -> np.ndarray:
    """The report's converter: annToMask per annotation, painted in descending area."""
    info = coco.imgs[image_id]
    mask = np.zeros((info["height"], info["width"]), dtype=np.uint8)
    anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=image_id)), key=lambda a: (-a["area"], a["id"]))
    for ann in anns:
        mask[coco.annToMask(ann) == 1] = ann["category_id"]
    return mask


def test_real_taco_data_ingests_and_matches_pycocotools(taco_dir, tmp_path):
    run_ingest(taco_dir / "annotations.json", taco_dir / "images", tmp_path / "taco")
    dataset = validate_dataset(tmp_path / "taco")
    assert len(dataset.image_ids) == 232 and len(dataset.annotations) == 699
    coco = COCO(str(taco_dir / "annotations.json"))
    overlapping = [i for i in dataset.image_ids if len(coco.getAnnIds(imgIds=i)) > 3][:4]
    for image_id in dataset.image_ids[:3] + overlapping:
        ours, reference = dataset.mask(image_id), _reference_mask(coco, image_id)
        assert np.bincount(ours.ravel(), minlength=11).tolist() == np.bincount(reference.ravel(), minlength=11).tolist()
        assert np.array_equal(ours, reference)
    total = sum(np.bincount(dataset.mask(i).ravel(), minlength=11) for i in dataset.image_ids)
    assert total[0] / total.sum() > 0.85  # the README says ~92% Background


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"exif": "rotate"}, "--exif: 'rotate' is not one of transpose, ignore"),
        ({"max_pixels": 0}, "--max-pixels: 0 is out of range"),
    ],
)
def test_ingest_knobs_out_of_range_are_refused_before_reading(coco_case, tmp_path, params, expected):
    with pytest.raises(ContractError, match=expected):
        ingest(coco_case, tmp_path / "ds", **params)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("name, cat_id", [("Backgroud", 0), ("background", 12), ("UNKNOWN", 13), ("General trash", 0)])
def test_a_background_category_is_dropped_and_its_pixels_stay_background(coco_case, tmp_path, caplog, name, cat_id):
    """A re-exported or pseudo-label file's background category (by name, or id 0 without a class's name) paints
    nothing."""
    import logging

    coco_case.data["categories"].append({"id": cat_id, "name": name})
    coco_case.data["annotations"][0]["category_id"] = cat_id  # the big square under the battery
    caplog.set_level(logging.INFO)
    ingest(coco_case, tmp_path / "ds")
    mask = Dataset(tmp_path / "ds").mask(1)
    if name == "General trash":  # id 0 but an object class's name: a class like any other
        assert mask[3, 3] == 1
        return
    assert mask[3, 3] == 0 and mask[7, 7] == 9  # the dropped square is Background, the battery on it stays
    assert f"category {cat_id} {name!r} is background" in caplog.text


def test_file_names_with_dot_segments_are_one_spelling(coco_case, tmp_path):
    coco_case.data["images"][0]["file_name"] = "./a.png"
    ingest(coco_case, tmp_path / "ds")
    assert list(Dataset(tmp_path / "ds").images["file_name"]) == ["a.png", "b.png"]
    coco_case.data["images"][1]["file_name"] = "./././a.png"  # the same file twice, once spelled otherwise
    with pytest.raises(ContractError, match=r"image 2: field 'file_name': file_name 'a.png' also used by image 1"):
        ingest(coco_case, tmp_path / "again")


def test_a_class_list_naming_the_background_is_honoured(coco_case, tmp_path):
    """The refusal's hint: --classes with another list, whose first name (the background) may be the baseline's."""
    from trashseg.data_contracts.classes import ClassTable

    coco_case.data["categories"].append({"id": 0, "name": "Backgroud"})
    classes = ClassTable.from_names(["Backgroud", *ClassTable().names[1:]])  # the baseline's spelling of class 0
    run_ingest(coco_case.write(), coco_case.images, tmp_path / "ds", classes)
    assert Dataset(tmp_path / "ds").classes.names[0] == "Backgroud"
