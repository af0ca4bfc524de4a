#!/usr/bin/env bash
# Install what OneMap needs on Debian 12: system packages (as root, only those missing),
# then the Python virtualenv at .venv with the project and its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostGIS for the data, GDAL's tools for the client tests, Chromium and a CJK font for the
# browser tests, screenshots and dossier PDFs (Pango lays out WeasyPrint's text), npm for the
# pages' web assets.
# Debian's own Python (with venv) so that `onemap serve` can run as an unprivileged user:
# an interpreter under /root cannot be read once the server drops root.
APT_PACKAGES=(postgresql-15-postgis-3 postgresql-client-15 gdal-bin chromium-headless-shell
              fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 python3 python3-venv)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "error: missing system packages: ${missing[*]}" >&2
        echo "       ask an administrator to run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

PYTHON=${PYTHON:-/usr/bin/python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.onemap-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing the Python environment in .venv (log: .venv/install.log)"
    if ! { .venv/bin/pip install --upgrade pip && .venv/bin/pip install -e '.[dev]'; } \
        > .venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "error: installing the Python environment failed (see .venv/install.log)" >&2
        exit 1
    fi
    touch "$stamp"
fi

# The pages' web assets, pinned in viewer/package-lock.json and served by the app itself.
if [ ! -f viewer/node_modules/.package-lock.json ] || [ viewer/package-lock.json -nt viewer/node_modules/.package-lock.json ]; then
    echo "installing web assets in viewer/node_modules"
    (cd viewer && npm ci --no-audit --no-fund --silent)
fi

# The project's bytecode, written once: where PYTHONDONTWRITEBYTECODE is set (CI's image sets
# it), every `onemap` process and server worker would compile OneMap's sources again (0.3 s
# each). A stale file is harmless: Python checks each source's time and recompiles in memory.
.venv/bin/python -m compileall -q -j 0 -x node_modules \
    analyses api cli database data_samples ingest layers migrations spatial viewer >/dev/null
