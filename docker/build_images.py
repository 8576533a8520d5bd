"""Build, tag for a registry and push the images; used by ``make images``/``make push`` and the container tests.

Run as a script (``python docker/build_images.py``): ``docker/`` is not a package, so it never shadows the
``docker`` SDK.

Both images start from the same Debian base and install only wheels made on the
host, so ``docker build`` needs no network:

* the CPU wheelhouse: ``pip wheel`` of the pinned requirements (torch is the
  CPU build this machine's pip configuration provides) and of the project;
* the GPU wheelhouse: PyPI's own ``torch==<pin>`` for manylinux x86_64, which
  is the CUDA build, with the ``nvidia-*``/``cuda-*``/``triton`` wheels it
  depends on (they bring the CUDA runtime; the node's driver comes from the
  NVIDIA container runtime). Every other package is the pinned CPU-side wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
REGISTRY_FILE = BUILD / "registry"  # what `make images REGISTRY=...` tagged for, read back by `make push`
PUSHED_FILE = BUILD / "pushed-images.json"  # the registry's digest of each pushed image: compiles name images by digest
KINDS = ("cpu", "gpu")
# pip download --platform does not widen a tag to older compatible ones; the CUDA wheels use many.
MANYLINUX_TAGS = [f"manylinux_2_{minor}_x86_64" for minor in (5, 12, *range(17, 37))] + [
    "manylinux1_x86_64",
    "manylinux2010_x86_64",
    "manylinux2014_x86_64",
]


class BuildError(RuntimeError):
    """A failed build, tag or push, with the engine's own message."""


def pinned(name: str) -> str:
    for line in CONSTRAINTS.read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise BuildError(f"{name} is not pinned in {CONSTRAINTS}")


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def _digest_marker(out: Path, text: str) -> Path:
    return out / f".complete-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def wheelhouse(out: Path = BUILD / "wheelhouse") -> Path:
    """Wheels of the project and every pinned dependency (cp311, manylinux); reused when complete."""
    out.mkdir(parents=True, exist_ok=True)
    marker = _digest_marker(out, CONSTRAINTS.read_text())  # new pins, new wheelhouse
    for old in out.glob("trashseg-*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)], check=True
    )
    if not marker.exists():
        requirements = [line for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
        requirements.append("setuptools")  # torch needs it at install; pip freeze leaves it out of the pins
        # pip wheel takes the published wheels and builds the few sdist-only packages (kfp-server-api) into
        # wheels here, for this host's CPython 3.11 on x86_64, the same as the images' Python.
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), *requirements],
            check=True,
        )
        marker.touch()
    return out


def gpu_wheelhouse(out: Path = BUILD / "wheelhouse-gpu") -> Path:
    """PyPI's CUDA build of the pinned torch and its CUDA dependencies (about 2.6 GB), for CPython 3.11 on x86_64.

    ``--isolated`` turns off this machine's pip configuration, whose local wheel
    folder would otherwise offer the CPU build of the same version.
    """
    out.mkdir(parents=True, exist_ok=True)
    torch_version = pinned("torch")
    marker = _digest_marker(out, f"torch=={torch_version}")
    if not marker.exists():
        platforms = [flag for tag in MANYLINUX_TAGS for flag in ("--platform", tag)]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--isolated",
                "--quiet",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                *platforms,
                f"torch=={torch_version}",
                "--dest",
                str(out),
            ],
            check=True,
        )
        marker.touch()
    return out


def _project(wheel: Path) -> str:
    return wheel.name.split("-", 1)[0].lower().replace("_", "-")


def build_context(kind: str) -> Path:
    """A minimal context: the Dockerfile and the wheels (nothing else of the host is sent to the engine)."""
    cpu_wheels = sorted(wheelhouse().glob("*.whl"))
    wheels = cpu_wheels
    if kind == "gpu":
        cuda_wheels = sorted(gpu_wheelhouse().glob("*.whl"))
        cpu_projects = {_project(w) for w in cpu_wheels if _project(w) != "torch"}
        # CUDA torch and what only it needs; every other package stays at its pinned (CPU-side) version.
        wheels = [w for w in cpu_wheels if _project(w) != "torch"] + [
            w for w in cuda_wheels if _project(w) not in cpu_projects
        ]
    context = BUILD / f"context-{kind}"
    shutil.rmtree(context, ignore_errors=True)
    (context / "wheels").mkdir(parents=True)
    (context / "project").mkdir()
    for wheel in wheels:
        # The project's wheel goes in its own folder: the dependencies' layer then survives a change to the project.
        folder = context / ("project" if _project(wheel) == "trashseg" else "wheels")
        try:
            (folder / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy2(wheel, folder / wheel.name)
    shutil.copy2(REPO / "docker" / f"Dockerfile.{kind}", context / "Dockerfile")
    return context


def _client():
    import docker

    try:
        client = docker.from_env(timeout=3600)
        client.ping()
    except docker.errors.DockerException as err:
        raise BuildError(f"no Docker engine reachable ({err}); start dockerd") from None
    return client


def build_image(kind: str, tags: list[str], base_image: str | None = None) -> float:
    """Build one image with the docker SDK; returns the seconds it took."""
    import docker

    started = time.perf_counter()
    context = build_context(kind)
    client = _client()
    buildargs = {"BASE_IMAGE": base_image} if base_image else {}
    try:
        image, _ = client.images.build(path=str(context), tag=tags[0], buildargs=buildargs, rm=True, pull=False)
    except docker.errors.BuildError as err:
        lines = [chunk.get("stream", "") or chunk.get("error", "") for chunk in err.build_log]
        raise BuildError(f"docker build of {tags[0]} failed:\n{''.join(lines)[-4000:]}") from None
    finally:
        shutil.rmtree(context, ignore_errors=True)
    for tag in tags[1:]:
        repository, _, version = tag.rpartition(":")
        image.tag(repository, version)
    return time.perf_counter() - started


def check_registry(registry: str) -> str:
    from trashseg.components.common.images import check_registry as checked
    from trashseg.data_contracts.errors import ContractError

    try:
        return checked(registry)
    except ContractError as err:
        raise BuildError(str(err)) from None


def image_tags(kind: str, registry: str = "") -> list[str]:
    """The tag the pipelines use (project version) and a traceable one (version + commit), under ``registry`` if
    given."""
    from trashseg.components.common.images import image_for

    primary = image_for(kind, check_registry(registry) if registry else "")
    return [primary, f"{primary}-{git_commit()}"]


def tag_for_registry(registry: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """Tag the locally built images for ``registry`` (no rebuild); returns the new tags."""
    import docker

    client = _client()
    tagged = []
    for kind in kinds:
        local = image_tags(kind)[0]
        try:
            image = client.images.get(local)
        except docker.errors.ImageNotFound:
            raise BuildError(f"{local} is not built here: run `make images` first") from None
        for tag in image_tags(kind, registry):
            repository, _, version = tag.rpartition(":")
            image.tag(repository, version)
            tagged.append(tag)
    return tagged


def push(registry: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """Push both tags of each image to ``registry``; any error the engine streams back fails the push.

    Each image's reference by digest (``REGISTRY/trashseg-KIND@sha256:...``, what the registry answered) goes to
    build/pushed-images.json, so `trashseg pipeline compile --registry` names exactly these builds.
    """
    import json

    import docker

    client = _client()
    pushed, digests = [], {}
    for kind in kinds:
        for tag in image_tags(kind, registry):
            repository, _, version = tag.rpartition(":")
            try:
                client.images.get(tag)
            except docker.errors.ImageNotFound:
                raise BuildError(f"{tag} is not tagged here: run `make images REGISTRY={registry}` first") from None
            for line in client.images.push(repository, version, stream=True, decode=True):
                if "error" in line:
                    raise BuildError(
                        f"push of {tag} failed: {line.get('errorDetail', {}).get('message', line['error'])}"
                    )
            pushed.append(tag)
        repository = image_tags(kind, registry)[0].rpartition(":")[0]
        by_digest = [
            d
            for d in client.images.get(image_tags(kind, registry)[0]).attrs.get("RepoDigests", [])
            if d.startswith(repository + "@")
        ]
        if by_digest:
            digests[kind] = by_digest[0]
    recorded = json.loads(PUSHED_FILE.read_text()) if PUSHED_FILE.exists() else {}
    recorded[registry] = {**recorded.get(registry, {}), **digests}
    PUSHED_FILE.parent.mkdir(parents=True, exist_ok=True)
    PUSHED_FILE.write_text(json.dumps(recorded, indent=2) + "\n")
    return pushed


def image_size_mb(tag: str) -> float:
    return _client().images.get(tag).attrs["Size"] / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the trashseg images from host-made wheelhouses (no network in the build), "
        "tag them for a registry, push them."
    )
    parser.add_argument("--kind", choices=["cpu", "gpu", "all"], default="all")
    parser.add_argument("--base", help="the Debian base image of both (default: the Dockerfiles' own)")
    parser.add_argument(
        "--registry",
        default="",
        help="also tag the images as REGISTRY/trashseg-KIND:VERSION (host[:port]/path); "
        "remembered in build/registry for --push",
    )
    parser.add_argument(
        "--push",
        action="store_true",
        help="push the images tagged for --registry (or the remembered one) instead of building",
    )
    args = parser.parse_args(argv)
    kinds = KINDS if args.kind == "all" else (args.kind,)
    try:
        if args.push:
            registry = args.registry or (REGISTRY_FILE.read_text().strip() if REGISTRY_FILE.exists() else "")
            if not registry:
                raise BuildError(
                    "no registry: run `make images REGISTRY=host:port/path` first, or `make push REGISTRY=...`"
                )
            registry = check_registry(registry)  # before the engine is asked anything
            tag_for_registry(registry, kinds)  # images rebuilt since the last tagging get the registry tags again
            for tag in push(registry, kinds):
                print(f"pushed {tag}")
            return 0
        registry = check_registry(args.registry) if args.registry else ""
        for kind in kinds:
            seconds = build_image(kind, image_tags(kind), args.base)
            print(
                f"built {', '.join(image_tags(kind))} in {seconds:.0f} s ({image_size_mb(image_tags(kind)[0]):.0f} MB)"
            )
        if registry:
            print("tagged " + ", ".join(tag_for_registry(registry, kinds)))
            REGISTRY_FILE.parent.mkdir(parents=True, exist_ok=True)
            REGISTRY_FILE.write_text(registry + "\n")
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
