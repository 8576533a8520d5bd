"""Build the wheelhouse and the images; used by ``make images`` and by the container tests.

Run as a script (``python docker/build_images.py``): ``docker/`` is not a package, so it never shadows the
``docker`` SDK.

The wheelhouse is filled on the host (``pip download`` of the pinned
requirements plus ``pip wheel`` of the project), then copied into a small build
context beside the Dockerfile, so ``docker build`` needs no network.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
CONSTRAINTS = REPO / "requirements" / "constraints.txt"


def project_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def wheelhouse(out: Path = BUILD / "wheelhouse") -> Path:
    """Wheels of the project and every pinned dependency (cp311, manylinux); reused when complete."""
    out.mkdir(parents=True, exist_ok=True)
    import hashlib

    marker = out / f".complete-{hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:16]}"  # new pins, new wheelhouse
    for old in out.glob("trashseg-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)], check=True)
    if not marker.exists():
        requirements = [line for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
        requirements.append("setuptools")  # torch needs it at install; pip freeze leaves it out of the pins
        # pip wheel takes the published wheels and builds the few sdist-only packages (kfp-server-api) into
        # wheels here, for this host's CPython 3.11 on x86_64, the same as the images' Python.
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), *requirements],
                       check=True)
        marker.touch()
    return out


def build_context(kind: str, wheels: Path, with_torch: bool = True) -> Path:
    """A minimal context: the Dockerfile and the wheels (nothing else of the host is sent to the engine)."""
    context = BUILD / f"context-{kind}"
    shutil.rmtree(context, ignore_errors=True)
    (context / "wheels").mkdir(parents=True)
    for wheel in wheels.glob("*.whl"):
        if not with_torch and wheel.name.startswith("torch-"):
            continue
        try:
            (context / "wheels" / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy2(wheel, context / "wheels" / wheel.name)
    shutil.copy2(REPO / "docker" / f"Dockerfile.{kind}", context / "Dockerfile")
    return context


def build_image(kind: str, tags: list[str], base_image: str | None = None) -> float:
    """Build one image with the docker SDK; returns the seconds it took."""
    import docker

    started = time.perf_counter()
    context = build_context(kind, wheelhouse(), with_torch=kind == "cpu")
    client = docker.from_env(timeout=1800)
    buildargs = {"BASE_IMAGE": base_image} if base_image else {}
    try:
        image, _ = client.images.build(path=str(context), tag=tags[0], buildargs=buildargs, rm=True, pull=False)
    except docker.errors.BuildError as err:
        lines = [chunk.get("stream", "") or chunk.get("error", "") for chunk in err.build_log]
        raise RuntimeError(f"docker build of {tags[0]} failed:\n{''.join(lines)[-4000:]}") from None
    for tag in tags[1:]:
        repository, _, version = tag.rpartition(":")
        image.tag(repository, version)
    return time.perf_counter() - started


def image_tags(kind: str) -> list[str]:
    """The tag the pipelines use (project version) and a traceable one (version + commit)."""
    from pipelines.images import image_for

    primary = image_for(kind)
    return [primary, f"{primary}-{git_commit()}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the trashseg images from a host-made wheelhouse (no network in the build).")
    parser.add_argument("--kind", choices=["cpu", "gpu", "all"], default="all")
    parser.add_argument("--cpu-base", help="base image for the CPU image (default: the Dockerfile's python:3.11-slim)")
    parser.add_argument("--gpu-base", help="base image for the GPU image (default: the Dockerfile's pytorch/pytorch CUDA runtime)")
    args = parser.parse_args(argv)
    for kind in (["cpu", "gpu"] if args.kind == "all" else [args.kind]):
        tags = image_tags(kind)
        seconds = build_image(kind, tags, args.cpu_base if kind == "cpu" else args.gpu_base)
        print(f"built {', '.join(tags)} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
