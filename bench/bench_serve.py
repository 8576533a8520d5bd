"""serve: latency and throughput of `trashseg serve`, ONNX Runtime vs torch eager on the CPU, and the server's overhead.

Everything in one run, on the same photo (a 512x512 TACO photo when ../shared/data is present, else a generated one),
with serve's defaults (TTA flip):

* **direct**: the model's time without a server, in this process: decode the photo, predict, argmax (what the server
  must do anyway), torch eager vs ONNX Runtime, alternating, median of N;
* **served**: `trashseg serve` in a child process, single-image requests from 1, 4 and 16 concurrent clients (p50, p95,
  p99 latency, requests/s), for the torch model and its export; the server's overhead is its p50 at concurrency 1
  minus the direct p50 of the same runtime, as a share of that direct time;
* **memory**: the server's RSS every 100 requests over 2,000 requests (tiny preset, 4 clients).

Presets: ``upernet-convnext-tiny`` (1.2M parameters, 128 px) and ``upernet-convnext`` (ConvNeXt-Base + UperNet, ~120M
parameters, random weights) at REAL_SIZE px: its 512 px training size costs about 0.6 TFLOP per forward pass, several
seconds per request on 2 cores, too slow for percentiles in one run here; the ratio between runtimes is what counts.
Every served answer is checked against the direct labels of the same runtime.
"""

from __future__ import annotations

import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.common import RESULTS, TACO, markdown_table, save

REAL_SIZE = 256
PRESETS = {"upernet-convnext-tiny": None, "upernet-convnext": REAL_SIZE}  # preset -> image size (None: the preset's)
DIRECT_REPEATS = {"upernet-convnext-tiny": 40, "upernet-convnext": 8}
SERVED_REQUESTS = {"upernet-convnext-tiny": {1: 60, 4: 120, 16: 240}, "upernet-convnext": {1: 8, 4: 12, 16: 16}}
MEMORY_REQUESTS = 2000


def random_model(preset_name: str, out: Path, image_size: int | None) -> Path:
    """A model artifact with random weights (no training): what train writes, minus the history."""
    from trashseg.components.models.build import build_model
    from trashseg.components.models.forward import IMAGENET_MEAN, IMAGENET_STD
    from trashseg.components.models.presets import get_preset
    from trashseg.data_contracts.artifact import atomic_directory
    from trashseg.data_contracts.classes import CLASS_NAMES, ClassTable
    from trashseg.data_contracts.model import CONTRACT, write_model_manifest

    preset = get_preset(preset_name)
    classes = ClassTable.from_names(CLASS_NAMES)
    model = build_model(preset, classes, seed=0)
    card = {"preset": preset.name, "family": preset.family, "classes": classes.to_records(), "image_size": image_size or preset.image_size,
            "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, "training": {"random_weights": True},
            "epochs_run": 0}
    with atomic_directory(out, True, CONTRACT) as tmp:
        model.save_pretrained(tmp)
        write_model_manifest(tmp, card, {"stage": "bench", "params": {}})
    return out


def photo() -> bytes:
    photos = sorted((TACO / "images").glob("*.jpg")) if TACO.is_dir() else []
    if photos:
        return photos[0].read_bytes()
    from PIL import Image

    from trashseg.components.export.logic import generated_image

    buffer = io.BytesIO()
    Image.fromarray(generated_image(0)).resize((512, 512)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def direct(artifacts: dict[str, Path], data: bytes, repeats: int) -> dict:
    """Decode + predict + argmax in this process, torch and ONNX Runtime alternating: seconds per call and the labels."""
    from trashseg.components.models.predict import load_predictor
    from trashseg.components.models.tta import TTA
    from trashseg.components.serve.logic import decode_photo
    from trashseg.data_contracts.exported import open_model_or_export

    tta = TTA(flip=True)
    predictors = {kind: load_predictor(open_model_or_export(path), "cpu") for kind, path in artifacts.items()}
    times = {kind: [] for kind in predictors}
    labels = {}
    for kind, predictor in predictors.items():  # warm-up
        labels[kind] = predictor.labels([decode_photo(data, 64_000_000)], tta)[0]
    for _ in range(repeats):
        for kind, predictor in predictors.items():
            started = time.perf_counter()
            predictor.labels([decode_photo(data, 64_000_000)], tta)
            times[kind].append(time.perf_counter() - started)
    return {kind: {"p50_s": statistics.median(t), "min_s": min(t), "repeats": len(t)} for kind, t in times.items()}, labels


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    def __init__(self, artifact: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(log, "ab") as handle:
            self.process = subprocess.Popen([sys.executable, "-m", "trashseg.components.cli", "serve", "--model", str(artifact),
                                             "--port", str(self.port)], stdout=handle, stderr=subprocess.STDOUT,
                                            env={**os.environ, "TRASHSEG_PROGRESS": "0"})
        import requests

        for _ in range(1200):
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.25)
        raise RuntimeError("serve did not become ready")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=120)


def served(server: _Server, body: bytes, expected: np.ndarray, concurrency: int, requests_total: int) -> dict:
    """``requests_total`` single-image requests from ``concurrency`` clients: latency percentiles and requests/s."""
    import requests

    local = threading.local()
    latencies, wrong = [], []

    def one(k: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        answer = local.session.post(server.url + "/v2/models/trashseg/infer", data=body, headers={"content-type": "application/json"},
                                    timeout=600)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            wrong.append(answer.status_code)
        elif k % 10 == 0:  # check every tenth answer (parsing all would load the client, which shares the CPUs)
            output = answer.json()["outputs"][0]
            if not np.array_equal(np.asarray(output["data"], np.uint8).reshape(output["shape"]), expected):
                wrong.append("labels")

    with ThreadPoolExecutor(concurrency) as pool:  # one warm-up round per client
        list(pool.map(one, range(concurrency)))
    latencies.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests_total)))
    seconds = time.perf_counter() - started
    p = np.percentile(latencies, [50, 95, 99])
    return {"concurrency": concurrency, "requests": requests_total, "p50_s": float(p[0]), "p95_s": float(p[1]), "p99_s": float(p[2]),
            "requests_per_s": requests_total / seconds, "errors": wrong}


def memory(server: _Server, body: bytes, total: int = MEMORY_REQUESTS, clients: int = 4) -> dict:
    """The server's RSS every 100 requests over ``total`` requests."""
    import psutil
    import requests

    process = psutil.Process(server.process.pid)
    samples = [(0, process.memory_info().rss / 2**20)]
    local = threading.local()
    statuses = []

    def one(_k: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        statuses.append(local.session.post(server.url + "/v2/models/trashseg/infer", data=body,
                                           headers={"content-type": "application/json"}, timeout=600).status_code)

    with ThreadPoolExecutor(clients) as pool:
        for done in range(100, total + 1, 100):
            list(pool.map(one, range(100)))
            samples.append((done, process.memory_info().rss / 2**20))
    rss = [mb for _, mb in samples]
    after_warmup = rss[2] if len(rss) > 2 else rss[0]
    return {"requests": total, "clients": clients, "rss_mb": samples, "rss_start_mb": rss[0], "rss_after_200_mb": after_warmup,
            "rss_end_mb": rss[-1], "rss_peak_mb": max(rss), "growth_after_200_mb": rss[-1] - after_warmup,
            "non_200": sum(s != 200 for s in statuses)}


def run() -> dict:
    from trashseg.components.export.logic import run_export
    from trashseg.components.export.params import ExportParams

    os.environ.setdefault("TRASHSEG_PROGRESS", "0")
    data = photo()
    body = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(data).decode()]}]}).encode()
    figures: dict = {"photo_bytes": len(data), "tta": "flip", "cpus": os.cpu_count(), "presets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for preset, size in PRESETS.items():
            started = time.perf_counter()
            model = random_model(preset, tmp / f"{preset}-model", size)
            run_export(model, tmp / f"{preset}-onnx", params=ExportParams(check_images=2))
            artifacts = {"torch": model, "onnxruntime": tmp / f"{preset}-onnx"}
            card = json.loads((tmp / f"{preset}-onnx" / "trashseg_export.json").read_text())
            entry = {"image_size": card["image_size"], "export_seconds": card["export_seconds"],
                     "export_check": {k: card["check"][k] for k in ("label_agreement", "max_logit_difference")}}
            print(f"{preset}: artifacts ready in {time.perf_counter() - started:.0f} s", flush=True)
            entry["direct"], labels = direct(artifacts, data, DIRECT_REPEATS[preset])
            entry["direct_onnx_speedup"] = entry["direct"]["torch"]["p50_s"] / entry["direct"]["onnxruntime"]["p50_s"]
            print(f"{preset}: direct {json.dumps(entry['direct'])}", flush=True)
            entry["served"] = {}
            for kind, artifact in artifacts.items():
                server = _Server(artifact, tmp / f"{preset}-{kind}.log")
                try:
                    levels = [served(server, body, labels[kind], c, n) for c, n in SERVED_REQUESTS[preset].items()]
                    if preset == "upernet-convnext-tiny":
                        entry.setdefault("memory", {})[kind] = memory(server, body)
                finally:
                    entry.setdefault("server_exit_codes", {})[kind] = server.stop()
                entry["served"][kind] = levels
                one = levels[0]["p50_s"]
                entry.setdefault("overhead_share_at_1", {})[kind] = (one - entry["direct"][kind]["p50_s"]) / entry["direct"][kind]["p50_s"]
                print(f"{preset} {kind}: {json.dumps(levels)}", flush=True)
            figures["presets"][preset] = entry
    save("serve", figures)
    table = report(figures)
    (RESULTS / "serve.md").write_text(table + "\n")
    print(table)
    return figures


def report(figures: dict) -> str:
    rows = []
    for preset, entry in figures["presets"].items():
        for kind in ("torch", "onnxruntime"):
            levels = {level["concurrency"]: level for level in entry["served"][kind]}
            rows.append({"preset": f"{preset} ({entry['image_size']} px)", "runtime": kind,
                         "direct p50 ms": 1000 * entry["direct"][kind]["p50_s"],
                         **{f"c={c} p50/p95/p99 ms": "/".join(f"{1000 * levels[c][k]:.0f}" for k in ("p50_s", "p95_s", "p99_s"))
                            for c in (1, 4, 16)},
                         **{f"c={c} req/s": levels[c]["requests_per_s"] for c in (1, 4, 16)},
                         "overhead at c=1": f"{100 * entry['overhead_share_at_1'][kind]:.1f}%"})
    lines = [markdown_table(rows, list(rows[0]))]
    for preset, entry in figures["presets"].items():
        lines.append(f"\n{preset}: ONNX Runtime / torch eager, direct: {entry['direct_onnx_speedup']:.2f}x; export check: agreement "
                     f"{entry['export_check']['label_agreement']:.4f}, max logit difference {entry['export_check']['max_logit_difference']:.2g}")
        for kind, m in entry.get("memory", {}).items():
            lines.append(f"{preset} {kind}: RSS over {m['requests']} requests: {m['rss_start_mb']:.0f} MB at start, "
                         f"{m['rss_after_200_mb']:.0f} MB after 200, {m['rss_end_mb']:.0f} MB at the end (peak {m['rss_peak_mb']:.0f}); "
                         f"growth after warm-up {m['growth_after_200_mb']:+.1f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    run()
