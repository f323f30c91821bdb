#!/usr/bin/env bash
# Create .venv and install the pinned packages (skipped when nothing changed since the last run).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi
# WeasyPrint (issue-documents) needs Pango and HarfBuzz; the tests decode QR codes with libzbar.
# Installed with apt only when missing, and only as root or with passwordless sudo.
system_packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core libzbar0"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for package in $system_packages; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
    done
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        as_root=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root="sudo -n"
    else
        as_root="none"
    fi
    if [ "$as_root" = none ]; then
        echo "bootstrap: missing system packages:$missing (install them with apt-get; PDFs need them)" >&2
    else
        echo "bootstrap: installing$missing"
        $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null \
            || { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y --no-install-recommends $missing >/dev/null; }
    fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements-dev.txt shared/pyproject.toml sandbox/pyproject.toml localrun/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing packages into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > "$stamp"
fi
# promtool for the offline validation of k3s/ (tests/deploy), only when missing.
scripts/deploy-tools.sh
