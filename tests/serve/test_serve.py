"""serve: a real `trashseg serve` process answers `trashseg infer`'s labels, refuses bad requests and stops cleanly.

The reference is infer's predictions artifact for photos ingested from files as cameras write them (JPEG with EXIF
orientations, PNG, not square): the server gets the same files' bytes and must return the same label maps.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import zlib

import numpy as np
import psutil
import pytest
import requests
from PIL import Image

from tests.reference import REPO
from tests.serving import INFER_PATH, Server, infer_body, labels_of, port_is_free
from trashseg.components.infer.logic import run_infer
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.predictions import validate_predictions

# (file name, stored width, stored height, EXIF orientation or None): 3, 6 and 8 rotate, 6 and 8 swap the axes
PHOTOS = [
    ("upright.png", 64, 40, None),
    ("plain.jpg", 48, 64, 1),
    ("rot180.jpg", 56, 40, 3),
    ("rot90cw.jpg", 64, 40, 6),
    ("rot90ccw.jpg", 40, 56, 8),
]


def _photo_bytes(source: Image.Image, width: int, height: int, orientation: int | None, png: bool) -> bytes:
    image = source.convert("RGB").resize((width, height), Image.BILINEAR)
    buffer = io.BytesIO()
    if png:
        image.save(buffer, "PNG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def served_world(sample_root, tiny_model, tiny_export, tmp_path_factory):
    """A tiny trained model, its export, photos ingested as a dataset, and infer's predictions for them."""
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.data_contracts.images import oriented_size

    root = tmp_path_factory.mktemp("served")
    model = tiny_model
    sources = sorted((sample_root / "test" / "images").iterdir())
    (root / "coco" / "images").mkdir(parents=True)
    records, photos = [], {}
    for k, (name, width, height, orientation) in enumerate(PHOTOS):
        data = _photo_bytes(Image.open(sources[k % len(sources)]), width, height, orientation, name.endswith(".png"))
        (root / "coco" / "images" / name).write_bytes(data)
        shown_width, shown_height = oriented_size(width, height, orientation or 1)
        records.append({"id": k + 1, "file_name": name, "width": shown_width, "height": shown_height})
        photos[k + 1] = data
    categories = json.loads((sample_root / "test" / "annotations.json").read_text())["categories"]
    (root / "coco" / "annotations.json").write_text(
        json.dumps({"images": records, "annotations": [], "categories": categories})
    )
    run_ingest(root / "coco" / "annotations.json", root / "coco" / "images", root / "photos")
    assert Dataset(root / "photos").record(4)["orientation"] == 6  # ingest applied the EXIF orientation
    run_infer(model, root / "photos", root / "by_model")  # infer's defaults, as serve's
    run_infer(tiny_export, root / "photos", root / "by_export")
    return {
        "root": root,
        "model": model,
        "exported": tiny_export,
        "photos": photos,
        "by_model": validate_predictions(root / "by_model"),
        "by_export": validate_predictions(root / "by_export"),
        "classes": list(Dataset(root / "photos").classes.names),
    }


def test_serve_predicts_with_infers_defaults():
    """Infer's TTA, device and precision options and defaults: else 'the labels infer writes' would not hold."""
    import argparse

    from trashseg.components.infer.cli import add_parser as add_infer
    from trashseg.components.serve.cli import add_parser as add_serve

    parsers = argparse.ArgumentParser().add_subparsers()
    add_infer(parsers), add_serve(parsers)
    shared = ("tta_flip", "tta_scales", "device", "precision")

    def defaults(name: str) -> dict:
        return {a.dest: a.default for a in parsers.choices[name]._actions if a.dest in shared}

    assert defaults("serve") == defaults("infer") and set(defaults("serve")) == set(shared)


def test_a_port_in_use_is_refused_before_the_model_is_loaded(served_world, capsys):
    import socket

    from trashseg.components.cli import main as trashseg

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = trashseg(["serve", "--model", str(served_world["model"]), "--port", str(port)])
    err = capsys.readouterr().err
    assert (
        code == 2 and f"error: --port: {port} on 127.0.0.1 cannot be used (Address already in use)" in err.splitlines()
    )
    assert "Traceback" not in err


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header promises width x height pixels, with almost no pixel data: a decompression bomb's opening."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def _bad_requests(good: bytes) -> list[tuple[str, object, int, str]]:
    """(case, body (dict = JSON, bytes = raw), expected status, text the error must hold)."""

    def one(item) -> dict:
        return {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [item]}]}

    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return [
        ("not-an-image", one(b64(b"%PDF-1.4 certainly not a photo")), 400, "not a JPEG or PNG image"),
        ("gif", one(b64(_gif())), 400, "not a JPEG or PNG image"),
        ("truncated-jpeg", one(b64(good[: len(good) // 2])), 400, "item 0"),
        ("not-base64", one("this is not base64!"), 400, "not base64"),
        (
            "pixel-bomb",
            one(b64(_png_header(9000, 9000))),
            400,
            "9000x9000 = 81000000 pixels is over the limit of 64000000",
        ),
        ("huge-pixel-bomb", one(b64(_png_header(40000, 40000))), 400, "over the pixel limit"),
        ("malformed-json", b'{"inputs": [{"name": "image", ', 422, "not valid JSON"),
        ("no-inputs", {"inputs": []}, 400, "has 0 inputs"),
        ("no-inputs-key", {"id": "x"}, 422, "inputs: Field required"),
        (
            "wrong-name",
            {"inputs": [{"name": "img", "shape": [1], "datatype": "BYTES", "data": [b64(good)]}]},
            400,
            "input 'img'",
        ),
        (
            "wrong-datatype",
            {"inputs": [{"name": "image", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            400,
            "(FP32)",
        ),
        (
            "shape-mismatch",
            {"inputs": [{"name": "image", "shape": [3], "datatype": "BYTES", "data": [b64(good)]}]},
            400,
            "shape [3] but 1 data items",
        ),
        (
            "too-many-images",
            {"inputs": [{"name": "image", "shape": [5], "datatype": "BYTES", "data": [b64(good)] * 5}]},
            400,
            "1 to 4 (--max-images)",
        ),
        ("body-over-limit", b"{" + b" " * (2 * 2**20) + b"}", 413, "over the limit of 1048576"),
    ]


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


def test_a_served_model_answers_infers_labels_refuses_bad_requests_and_drains_on_sigterm(served_world, tmp_path):
    world = served_world
    by_model = world["by_model"]
    with Server(world["model"], "--max-images", "4", "--max-request-mb", "1", log=tmp_path / "serve.log") as server:
        # listening on localhost only, by default
        listening = [
            c.laddr
            for c in psutil.Process(server.process.pid).connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(address.ip == "127.0.0.1" for address in listening)
        assert requests.get(server.url + "/v2/models/trashseg/ready", timeout=5).json() == {
            "name": "trashseg",
            "ready": True,
        }

        # one photo per request: exactly infer's label maps, at the photo's upright size
        for image_id, photo in world["photos"].items():
            answer = server.infer([photo])
            assert answer.status_code == 200, answer.text
            (labels,) = labels_of(answer.json())
            np.testing.assert_array_equal(labels, by_model.labels(image_id), err_msg=f"image {image_id}")
        parameters = answer.json()["parameters"]
        assert json.loads(parameters["classes"]) == world["classes"] and parameters["tta"] == "flip"
        assert parameters["model_hash"] == validate_predictions(world["root"] / "by_model").manifest.extra["model_hash"]

        # the binary-data extension: label maps as raw bytes after the JSON header, on request
        body = {**infer_body([world["photos"][4]]), "parameters": {"binary_data_output": True}}
        answer = requests.post(server.url + INFER_PATH, json=body, timeout=60)
        header_length = int(answer.headers["inference-header-content-length"])
        (output,) = json.loads(answer.content[:header_length])["outputs"]
        assert output["parameters"]["binary_data_size"] == len(answer.content) - header_length
        binary = np.frombuffer(answer.content[header_length:], np.uint8).reshape(output["shape"])
        np.testing.assert_array_equal(binary, by_model.labels(4))

        # a batch: one output per photo, in order, each at its own size
        ids = list(world["photos"])[:4]
        batch = labels_of(server.infer([world["photos"][i] for i in ids]).json())
        assert [b.shape for b in batch] == [by_model.labels(i).shape for i in ids]
        for image_id, labels in zip(ids, batch):
            np.testing.assert_array_equal(labels, by_model.labels(image_id))

        # bad requests: 4xx, one line of JSON, and the server stays ready
        for case, body, status, text in _bad_requests(world["photos"][2]):
            if isinstance(body, dict):
                answer = requests.post(server.url + INFER_PATH, json=body, timeout=30)
            else:
                answer = requests.post(
                    server.url + INFER_PATH, data=body, headers={"content-type": "application/json"}, timeout=30
                )
            assert answer.status_code == status, f"{case}: {answer.status_code} {answer.text}"
            assert "\n" not in answer.text.strip() and list(answer.json()) == ["error"], f"{case}: {answer.text}"
            assert text in answer.json()["error"], f"{case}: {answer.text}"
            assert requests.get(server.url + "/v2/health/ready", timeout=5).status_code == 200, case
        assert "Traceback" not in server.log_text()

        # SIGTERM while a request is in flight: it is answered, then the process ends and the port is free
        answers = []
        many = [world["photos"][1]] * 4
        sender = threading.Thread(target=lambda: answers.append(server.infer(many)))
        sender.start()
        threading.Event().wait(0.3)
        assert server.stop() == 0
        sender.join(timeout=60)
        assert answers and answers[0].status_code == 200 and len(answers[0].json()["outputs"]) == 4
        assert port_is_free(server.port)
        assert "Shutting down" in server.log_text()


def test_a_served_export_answers_infers_labels_for_the_export(served_world, tmp_path):
    """The export behind the server: exactly what infer writes with the export, and within the export's agreement of
    what infer writes with the model. Called with kserve's own REST client."""
    import asyncio

    from trashseg.components.common.kserve_sdk import import_kserve

    kserve = import_kserve()
    world = served_world
    with Server(world["exported"], log=tmp_path / "serve.log") as server:

        async def call(photo: bytes):
            client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", timeout=60))
            try:
                request = kserve.InferRequest(
                    model_name="trashseg",
                    infer_inputs=[kserve.InferInput("image", [1], "BYTES", data=[base64.b64encode(photo).decode()])],
                )
                return await client.infer(server.url, request, model_name="trashseg")
            finally:
                await client.close()

        same = total = 0
        for image_id, photo in world["photos"].items():
            response = asyncio.run(call(photo))
            labels = response.outputs[0].as_numpy().astype(np.uint8).reshape(response.outputs[0].shape)
            np.testing.assert_array_equal(labels, world["by_export"].labels(image_id))
            same += int((labels == world["by_model"].labels(image_id)).sum())
            total += labels.size
        assert (
            response.parameters["runtime"] == "onnxruntime"
            and response.parameters["model_contract"] == "exported-model"
        )
        assert same / total >= 0.99
        assert server.stop() == 0


@pytest.mark.slow
def test_under_load_no_5xx_every_answer_is_infers_and_a_killed_server_restarts(served_world, tmp_path):
    """2,000 requests from 16 clients, one in 20 bad: bad ones get 4xx, good ones infer's labels, none a 5xx; the
    server's memory after the first 200 requests and at the end is reported; kill -9, then a restart answers again."""
    import signal
    import time
    from concurrent.futures import ThreadPoolExecutor

    world = served_world
    photos = list(world["photos"].items())
    bad = [
        body for case, body, _, _ in _bad_requests(photos[0][1]) if case not in ("body-over-limit", "too-many-images")
    ]
    local = threading.local()

    def send(k: int):
        session = getattr(local, "session", None) or setattr(local, "session", requests.Session()) or local.session
        if k % 20 == 19:
            body = bad[(k // 20) % len(bad)]
            if isinstance(body, bytes):
                answer = session.post(
                    server.url + INFER_PATH, data=body, headers={"content-type": "application/json"}, timeout=120
                )
            else:
                answer = session.post(server.url + INFER_PATH, json=body, timeout=120)
            return k, None, answer.status_code, None
        image_id, photo = photos[k % len(photos)]
        answer = server.infer([photo], session=session)
        labels = labels_of(answer.json())[0] if answer.status_code == 200 else None
        return k, image_id, answer.status_code, labels

    with Server(world["model"], log=tmp_path / "serve.log") as server:
        process = psutil.Process(server.process.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            first = list(pool.map(send, range(200)))
            rss_warm = process.memory_info().rss
            rest = list(pool.map(send, range(200, 2000)))
        seconds = time.perf_counter() - started
        rss_end = process.memory_info().rss
        results = first + rest
        statuses = [status for _, _, status, _ in results]
        assert not [s for s in statuses if s >= 500], f"5xx answers: {sorted(set(statuses))}"
        good = [(image_id, labels) for _, image_id, status, labels in results if image_id is not None]
        assert len(good) == 1900 and all(labels is not None for _, labels in good)
        for image_id, labels in good:
            np.testing.assert_array_equal(labels, world["by_model"].labels(image_id))
        refused = [status for k, _, status, _ in results if k % 20 == 19]
        assert len(refused) == 100 and all(400 <= s < 500 for s in refused)
        growth_mb = (rss_end - rss_warm) / 2**20
        report = {
            "requests": 2000,
            "concurrency": 16,
            "bad": 100,
            "seconds": round(seconds, 1),
            "requests_per_s": round(2000 / seconds, 1),
            "rss_after_200_mb": round(rss_warm / 2**20, 1),
            "rss_after_2000_mb": round(rss_end / 2**20, 1),
            "rss_growth_mb": round(growth_mb, 1),
        }
        print(f"\nserve under load: {json.dumps(report)}")
        out = REPO / "build" / "test-artifacts"
        out.mkdir(parents=True, exist_ok=True)
        (out / "serve_load.json").write_text(json.dumps(report, indent=1))
        assert growth_mb < 100, f"the server grew by {growth_mb:.0f} MB over 1,800 requests"

        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        server.start()  # the same port, right away
        assert server.infer([photos[0][1]]).status_code == 200
        assert server.stop() == 0
