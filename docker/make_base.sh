#!/usr/bin/env bash
# Make a Debian bookworm base image with Python 3.11 from Debian's own packages (no registry needed):
# debootstrap a root filesystem and `docker import` it. Usage: docker/make_base.sh [IMAGE_NAME]
set -euo pipefail
name="${1:-trashseg-base:bookworm}"
if docker image inspect "$name" >/dev/null 2>&1; then
  echo "base image $name already present"
  exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates,passwd bookworm "$root" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'ENV LANG=C.UTF-8' - "$name" >/dev/null
echo "built base image $name"
