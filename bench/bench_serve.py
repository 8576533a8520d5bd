"""serve: latency and throughput of `trashseg serve`, ONNX Runtime vs torch eager on the CPU, and the server's overhead.

Everything in one run, on the same photo (a 512x512 TACO photo when ../shared/data is present, else a generated one),
with serve's defaults (TTA flip):

* **direct**: the model's time without a server, in this process: decode the photo, predict, argmax (what the server
  must do anyway), torch eager vs ONNX Runtime, alternating, median of N;
* **served**: `trashseg serve` in a child process, single-image requests from 1, 4 and 16 concurrent clients (p50, p95,
  p99 latency, requests/s), for the torch model and its export;
* **overhead**: one direct call and one request to the server (same runtime), alternating, so both see the same load
  (the machine is shared): the server's overhead is (served p50 - direct p50) / direct p50, with the label maps as
  JSON numbers (the default) and as binary data (``"binary_data_output": true``);
* **memory**: the server's RSS every 100 requests over 2,000 requests (tiny preset, 4 clients, binary label maps: a
  512x512 map as JSON numbers costs the server about 0.3 s of encoding, which would make this part the longest).

Presets: ``upernet-convnext-tiny`` (1.2M parameters, 128 px) and ``upernet-convnext`` (ConvNeXt-Base + UperNet, ~120M
parameters, random weights, at its 512 px: about 0.6 TFLOP per forward pass, two with flip, so several seconds per
request on 2 cores and only a few requests per level). Served answers are checked against the direct labels of the
same runtime. The machine may be shared: the load average at the start and the end is recorded, and each direct
figure has its fastest call beside its median.
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
from trashseg.components.common.kserve_sdk import MODEL_NAME

PRESETS = {"upernet-convnext-tiny": None, "upernet-convnext": None}  # preset -> image size (None: the preset's)
DIRECT_REPEATS = {"upernet-convnext-tiny": 30, "upernet-convnext": 4}
OVERHEAD_REPEATS = {"upernet-convnext-tiny": 20, "upernet-convnext": 3}
SERVED_REQUESTS = {"upernet-convnext-tiny": {1: 20, 4: 40, 16: 80}, "upernet-convnext": {1: 3, 4: 4, 16: 16}}
MEMORY_REQUESTS = 2000
INFER_PATH = f"/v2/models/{MODEL_NAME}/infer"


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
    card = {
        "preset": preset.name,
        "family": preset.family,
        "classes": classes.to_records(),
        "image_size": image_size or preset.image_size,
        "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "training": {"random_weights": True},
        "epochs_run": 0,
    }
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


GAP_S = 0.3  # pause between calls of different processes: the last one's threads stop spinning first


class _Direct:
    """Decode + predict + argmax in a child process holding one runtime, one call per request: two runtimes in one
    process (or a caller and a server) would fight over the two cores with their spinning threads."""

    def __init__(self, artifact: Path, photo_path: Path, labels_path: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_serve", "direct", str(artifact), str(photo_path), str(labels_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "TRASHSEG_PROGRESS": "0"},
        )
        assert self.process.stdout.readline().strip() == "ready"
        self.labels = np.load(labels_path)

    def call(self) -> float:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _direct_worker(artifact: str, photo_path: str, labels_path: str) -> None:
    from trashseg.components.models.predict import load_predictor
    from trashseg.components.models.tta import TTA
    from trashseg.components.serve.logic import decode_photo
    from trashseg.data_contracts.exported import open_model_or_export
    from trashseg.data_contracts.images import DEFAULT_MAX_PIXELS

    predictor = load_predictor(open_model_or_export(Path(artifact)), "cpu")
    data = Path(photo_path).read_bytes()

    def call() -> np.ndarray:
        return predictor.labels([decode_photo(data, DEFAULT_MAX_PIXELS)], TTA(tta_flip=True))[0]

    np.save(labels_path, call())  # also the warm-up
    print("ready", flush=True)
    for _ in sys.stdin:
        started = time.perf_counter()
        call()
        print(time.perf_counter() - started, flush=True)


def direct(workers: dict[str, _Direct], repeats: int) -> dict:
    """The runtimes' direct calls, alternating, a pause between: seconds per call."""
    times = {kind: [] for kind in workers}
    for _ in range(repeats):
        for kind, worker in workers.items():
            time.sleep(GAP_S)
            times[kind].append(worker.call())
    return {kind: _summary(t) for kind, t in times.items()}


def _summary(times: list[float]) -> dict:
    return {"p50_s": statistics.median(times), "min_s": min(times), "repeats": len(times)}


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
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "trashseg.components.cli",
                    "serve",
                    "--model",
                    str(artifact),
                    "--port",
                    str(self.port),
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TRASHSEG_PROGRESS": "0"},
            )
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


def _post(session, server: _Server, body: bytes):
    return session.post(server.url + INFER_PATH, data=body, headers={"content-type": "application/json"}, timeout=600)


def _answer_labels(answer) -> np.ndarray:
    length = answer.headers.get("inference-header-content-length")
    if length is None:
        output = answer.json()["outputs"][0]
        return np.asarray(output["data"], np.uint8).reshape(output["shape"])
    output = json.loads(answer.content[: int(length)])["outputs"][0]
    return np.frombuffer(answer.content[int(length) :], np.uint8).reshape(output["shape"])


def overhead(server: _Server, worker: _Direct, bodies: dict[str, bytes], repeats: int) -> dict:
    """A direct call and the served requests (JSON and binary label maps), alternating: times and the overhead."""
    import requests

    session = requests.Session()
    times = {"direct": [], **{name: [] for name in bodies}}
    same = {
        name: bool(np.array_equal(_answer_labels(_post(session, server, body)), worker.labels))
        for name, body in bodies.items()
    }
    for _ in range(repeats):
        time.sleep(GAP_S)
        times["direct"].append(worker.call())
        for name, body in bodies.items():
            time.sleep(GAP_S)
            started = time.perf_counter()
            answer = _post(session, server, body)
            times[name].append(time.perf_counter() - started)
            assert answer.status_code == 200
    summary = {name: _summary(t) for name, t in times.items()}
    base = summary["direct"]["p50_s"]
    return {
        **summary,
        **{f"overhead_{name}": (summary[name]["p50_s"] - base) / base for name in bodies},
        "same_labels": same,
    }


def served(server: _Server, body: bytes, expected: np.ndarray, concurrency: int, requests_total: int) -> dict:
    """``requests_total`` single-image requests from ``concurrency`` clients: latency percentiles and requests/s."""
    import requests

    local = threading.local()
    latencies, wrong = [], []

    def one(k: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        answer = _post(local.session, server, body)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            wrong.append(answer.status_code)
        elif k % 10 == 0:  # check every tenth answer (parsing all would load the client, which shares the CPUs)
            if not np.array_equal(_answer_labels(answer), expected):
                wrong.append("labels")

    with ThreadPoolExecutor(concurrency) as pool:  # warm-up: connections open
        list(pool.map(one, range(min(concurrency, 2))))
    latencies.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests_total)))
    seconds = time.perf_counter() - started
    p = np.percentile(latencies, [50, 95, 99])
    return {
        "concurrency": concurrency,
        "requests": requests_total,
        "p50_s": float(p[0]),
        "p95_s": float(p[1]),
        "p99_s": float(p[2]),
        "requests_per_s": requests_total / seconds,
        "errors": wrong,
    }


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
        statuses.append(_post(local.session, server, body).status_code)

    with ThreadPoolExecutor(clients) as pool:
        for done in range(100, total + 1, 100):
            list(pool.map(one, range(100)))
            samples.append((done, process.memory_info().rss / 2**20))
    rss = [mb for _, mb in samples]
    after_warmup = rss[2] if len(rss) > 2 else rss[0]
    return {
        "requests": total,
        "clients": clients,
        "rss_mb": samples,
        "rss_start_mb": rss[0],
        "rss_after_200_mb": after_warmup,
        "rss_end_mb": rss[-1],
        "rss_peak_mb": max(rss),
        "growth_after_200_mb": rss[-1] - after_warmup,
        "non_200": sum(s != 200 for s in statuses),
    }


def run() -> dict:
    from trashseg.components.export.logic import run_export
    from trashseg.components.export.params import ExportParams

    os.environ.setdefault("TRASHSEG_PROGRESS", "0")
    data = photo()
    inputs = [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(data).decode()]}]
    bodies = {
        "json": json.dumps({"inputs": inputs}).encode(),
        "binary": json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode(),
    }
    figures: dict = {
        "photo_bytes": len(data),
        "tta": "flip",
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "presets": {},
    }
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "photo.jpg").write_bytes(data)
        for preset, size in PRESETS.items():
            started = time.perf_counter()
            model = random_model(preset, tmp / f"{preset}-model", size)
            run_export(model, tmp / f"{preset}-onnx", params=ExportParams(check_images=2))
            artifacts = {"torch": model, "onnxruntime": tmp / f"{preset}-onnx"}
            card = json.loads((tmp / f"{preset}-onnx" / "trashseg_export.json").read_text())
            entry = {
                "image_size": card["image_size"],
                "export_seconds": card["export_seconds"],
                "export_check": {k: card["check"][k] for k in ("label_agreement", "max_logit_difference")},
            }
            print(f"{preset}: artifacts ready in {time.perf_counter() - started:.0f} s", flush=True)
            workers = {
                kind: _Direct(path, tmp / "photo.jpg", tmp / f"{preset}-{kind}-labels.npy")
                for kind, path in artifacts.items()
            }
            entry["direct"] = direct(workers, DIRECT_REPEATS[preset])
            entry["direct_onnx_speedup"] = entry["direct"]["torch"]["p50_s"] / entry["direct"]["onnxruntime"]["p50_s"]
            entry["direct_onnx_speedup_min"] = (
                entry["direct"]["torch"]["min_s"] / entry["direct"]["onnxruntime"]["min_s"]
            )
            print(f"{preset}: direct {json.dumps(entry['direct'])}", flush=True)
            entry["served"], entry["overhead"], entry["server_exit_codes"] = {}, {}, {}
            for kind, artifact in artifacts.items():
                server = _Server(artifact, tmp / f"{preset}-{kind}.log")
                try:
                    entry["overhead"][kind] = overhead(server, workers[kind], bodies, OVERHEAD_REPEATS[preset])
                    entry["served"][kind] = [
                        served(server, bodies["json"], workers[kind].labels, c, n)
                        for c, n in SERVED_REQUESTS[preset].items()
                    ]
                    if preset == "upernet-convnext-tiny":
                        entry.setdefault("memory", {})[kind] = memory(server, bodies["binary"])
                finally:
                    entry["server_exit_codes"][kind] = server.stop()
                print(
                    f"{preset} {kind}: overhead {json.dumps(entry['overhead'][kind])}\n"
                    f"  served {json.dumps(entry['served'][kind])}",
                    flush=True,
                )
            for worker in workers.values():
                worker.close()
            figures["presets"][preset] = entry
    figures["seconds"] = time.perf_counter() - started_all
    figures["load_average_at_end"] = os.getloadavg()
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
            cost = entry["overhead"][kind]
            direct_s = entry["direct"][kind]
            rows.append(
                {
                    "model": f"{preset} ({entry['image_size']} px)",
                    "runtime": kind,
                    "direct p50 (min) ms": f"{1000 * direct_s['p50_s']:.0f} ({1000 * direct_s['min_s']:.0f})",
                    **{
                        f"c={c} p50/p95/p99 ms": "/".join(
                            f"{1000 * levels[c][k]:.0f}" for k in ("p50_s", "p95_s", "p99_s")
                        )
                        for c in (1, 4, 16)
                    },
                    **{f"c={c} req/s": levels[c]["requests_per_s"] for c in (1, 4, 16)},
                    "overhead c=1, JSON / binary": f"{cost['overhead_json']:.1%} / {cost['overhead_binary']:.1%}",
                }
            )
    lines = [
        f"`bench/bench_serve.py`, {figures.get('seconds', 0) / 60:.0f} min on {figures['cpus']} CPUs (load average "
        f"{figures['load_average_at_start'][0]:.1f} at the start, "
        f"{figures.get('load_average_at_end', [0])[0]:.1f} at the end: "
        "the machine is shared); one 512x512 JPEG photo per request, TTA flip (serve's default), random weights.",
        "",
        markdown_table(rows, list(rows[0])),
    ]
    for preset, entry in figures["presets"].items():
        lines.append(
            f"\n{preset}: ONNX Runtime / torch eager, direct: {entry['direct_onnx_speedup']:.2f}x at the median, "
            f"{entry['direct_onnx_speedup_min']:.2f}x at the fastest call; export check: agreement "
            f"{entry['export_check']['label_agreement']:.4f}, largest logit difference "
            f"{entry['export_check']['max_logit_difference']:.2g}"
        )
        for kind, m in entry.get("memory", {}).items():
            lines.append(
                f"{preset} {kind}: server RSS over {m['requests']} requests ({m['clients']} clients): "
                f"{m['rss_start_mb']:.0f} MB "
                f"at the start, {m['rss_after_200_mb']:.0f} MB after 200, {m['rss_end_mb']:.0f} MB at the end (peak "
                f"{m['rss_peak_mb']:.0f}); growth after the first 200: {m['growth_after_200_mb']:+.1f} MB"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["direct"]:
        _direct_worker(*sys.argv[2:5])
    else:
        run()
