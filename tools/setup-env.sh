#!/bin/bash
# Install what the demo and the tests need on a fresh Debian machine:
# the apt packages (qemu, lvm2, busybox for the rig's VMs) and a Python
# venv in .venv with this package and its test dependencies.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="lvm2 qemu-system-x86 qemu-utils busybox-static cpio kmod util-linux"
# Each test area lists the Debian packages it needs (the rig's VMs, the
# Cinder services suite).
for list in tests/*/apt-packages.txt rig/apt-packages.txt; do
    APT_PACKAGES="$APT_PACKAGES $(grep -v '^#' "$list" | xargs)"
done

missing=""
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "==> apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.cinder-shared-lvm-installed
want=$(cat requirements.txt test-requirements.txt setup.cfg | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> pip install (cinder, os-brick, test tools)"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements.txt -r test-requirements.txt
    .venv/bin/pip install -q -e ".[cinder]"
    echo "$want" > "$stamp"
fi
