#!/usr/bin/env bash
# Build (and push) one image per function of stack.yml, plus the platform's dead-letters sink:
#   images/build.sh TAG [REGISTRY] [--push] [FUNCTION ...]
# e.g. images/build.sh 1.4.2 registry.prichal.ru --push
# Image names match the generated manifests: <REGISTRY>/prichal-<function>:<TAG>.
# System packages of a function come from its stack.yml build_args.ADDITIONAL_PACKAGE.
# DRY_RUN=1 prints the docker commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: images/build.sh TAG [REGISTRY] [--push] [FUNCTION ...]}
registry=${2:-registry.prichal.local}
shift $(( $# >= 2 ? 2 : 1 ))
push=false
if [ "${1:-}" = "--push" ]; then push=true; shift; fi
python=.venv/bin/python; [ -x "$python" ] || python=python3
mapfile -t lines < <("$python" - "$@" <<'PY'
import os, sys, yaml
stack = yaml.safe_load(open("stack.yml"))["functions"]
sandbox = (yaml.safe_load(open("stack.sandbox.yml")) or {}).get("functions") or {} if os.path.exists("stack.sandbox.yml") else {}
sandbox = {**sandbox, **{n: f for n, f in stack.items() if n == "mock-payments"}}
every = {**stack, **sandbox}
wanted = sys.argv[1:] or [*every, "dead-letters"]
for name in wanted:
    if name == "dead-letters":
        print(f"{name}|images/dead-letters||false")
        continue
    extra = ((every[name] or {}).get("build_args") or {}).get("ADDITIONAL_PACKAGE", "")
    print(f"{name}|functions/{name}|{extra}|{'true' if name in sandbox else 'false'}")
PY
)
for line in "${lines[@]}"; do
    IFS='|' read -r name dir extra keep_sandbox <<<"$line"
    image="$registry/prichal-$name:$tag"
    echo "build $image" >&2
    command=(docker build -f images/Dockerfile --build-arg FUNCTION="$name" --build-arg HANDLER_DIR="$dir"
             --build-arg ADDITIONAL_PACKAGE="$extra" --build-arg KEEP_SANDBOX="$keep_sandbox"
             --label org.opencontainers.image.revision="$(git rev-parse HEAD)" -t "$image" .)
    if [ -n "${DRY_RUN:-}" ]; then  # print what would run (tests/deploy/test_images.py)
        printf '%q ' "${command[@]}"; echo
        continue
    fi
    DOCKER_BUILDKIT=1 "${command[@]}"
    if $push; then docker push "$image"; fi
done
