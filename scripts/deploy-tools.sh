#!/usr/bin/env bash
# Tools the offline validation of k3s/ needs beyond .venv (tests/deploy/test_validation.py):
# promtool, from Debian's `prometheus` package. Only promtool is wanted, not a Prometheus
# server, so the package is downloaded and promtool alone unpacked into .venv/bin (no
# daemon, no root needed once the package is in apt's cache). And ansible-core with
# ansible-lint, in a virtualenv of their own (.venv/ansible: their dependencies stay out of
# the project's pins) for tests/deploy/test_ansible.py. Each skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_CORE=2.19.14
ANSIBLE_LINT=26.10.1
if [ ! -x .venv/ansible/bin/ansible-lint ]; then
    echo "deploy-tools: installing ansible-core $ANSIBLE_CORE and ansible-lint $ANSIBLE_LINT into .venv/ansible"
    python3 -m venv .venv/ansible
    .venv/ansible/bin/python -m pip install --quiet --disable-pip-version-check \
        "ansible-core==$ANSIBLE_CORE" "ansible-lint==$ANSIBLE_LINT" \
        || echo "deploy-tools: could not install ansible; tests/deploy/test_ansible.py will say so" >&2
fi

if command -v promtool >/dev/null 2>&1 || [ -x .venv/bin/promtool ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deploy-tools: no apt-get; install promtool (Prometheus) yourself for tests/deploy" >&2
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "deploy-tools: fetching promtool (Debian package prometheus)"
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null 2>&1 || true
    fi
    (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || {
        echo "deploy-tools: could not download the prometheus package; tests/deploy needs promtool" >&2
        exit 0
    }
fi
dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
install -m 0755 "$work/x/usr/bin/promtool" .venv/bin/promtool
.venv/bin/promtool --version | head -1
