#!/bin/bash
# What the Horizon test needs besides tools/setup-env.sh: Debian's chromium
# and a venv of its own (.venv-horizon) with Horizon and Playwright, since
# Horizon pins Django and its own clients. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "ok installed"; then
    echo "==> apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
want=$(sha256sum tools/setup-horizon.sh | cut -d' ' -f1)
if [ "$(cat .venv-horizon/.installed 2>/dev/null)" != "$want" ]; then
    echo "==> creating .venv-horizon (horizon, playwright)"
    python3 -m venv .venv-horizon
    .venv-horizon/bin/pip install -q horizon playwright
    echo "$want" > .venv-horizon/.installed
fi
