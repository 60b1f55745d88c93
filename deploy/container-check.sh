#!/usr/bin/env bash
# `make container-check`: the production path, run for real with podman on this kind of machine.
#
# Builds the image on the local Debian/Python base (a CPU image: the GPU base cannot be pulled
# here), brings docker-compose.yml up with podman-compose and the CPU override (train, then api),
# waits for /ready, posts a forecast, calls the gRPC port from outside (health, TF Serving's
# Predict, KServe v2's ModelInfer, each equal to REST's :predict), restarts api and finds the store intact, stops api and
# checks that it shut down gracefully (exit code 0, well within podman's 10 s before SIGKILL),
# and removes everything it created, on success or failure.
# Needs podman, podman-compose and the base image: ../shared/containers/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-localhost/python-base:bookworm}
PROJECT=forecast-check-$$
IMAGE=localhost/forecast-service:check-$$
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
GRPC_PORT=${GRPC_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
URL=http://127.0.0.1:$PORT
# The host's gRPC clients (tensorflow-serving-api, tritonclient): the project's venv, as make makes it.
PYTHON=${PYTHON:-.venv/bin/python}
COMPOSE=(podman-compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.cpu.yml)
export IMAGE PORT GRPC_PORT

say() { printf '[container-check %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "FAILED: $*"; exit 1; }

for tool in podman podman-compose curl "$PYTHON"; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run ../shared/containers/setup.sh"
done
podman image exists "$BASE" || fail "no base image $BASE: run ../shared/containers/setup.sh"

cleanup() {
    local status=$?
    say "cleaning up"
    "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
    podman volume rm -f "${PROJECT}_model_store" >/dev/null 2>&1 || true
    podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

api_container() {
    podman ps -a --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=api" --format '{{.Names}}' | head -n 1
}

versions() {  # every name/version GET /models lists, and its state
    curl -fsS "$URL/models" | python3 -c 'import json, sys
body = json.load(sys.stdin)
print(" ".join(m["name"] + "/" + str(v["version"]) + ":" + v["state"]
               for m in body["models"] for v in m["versions"]))'
}

wait_ready() {  # wait_ready SECONDS
    local deadline=$((SECONDS + $1))
    until curl -fsS "$URL/ready" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { "${COMPOSE[@]}" logs 2>&1 | tail -n 40; fail "/ready not 200 within $1 s"; }
        sleep 2
    done
}

say "building $IMAGE on $BASE (a CPU image)"
started=$SECONDS
podman build --quiet --format docker --network host --build-arg "BASE_IMAGE=$BASE" \
    --build-arg EXTRAS= -t "$IMAGE" . >/dev/null
say "built in $((SECONDS - started)) s"

say "podman-compose up: train fills the store, then api serves it on port $PORT"
started=$SECONDS
"${COMPOSE[@]}" up -d --no-build >/dev/null
wait_ready 1800
say "ready in $((SECONDS - started)) s (training the default set included)"

models=$(versions)
[ -n "$models" ] || fail "the store holds no model"
say "store: $models"

series=$(python3 -c 'import math; print([round(50 + 10 * math.sin(t / 5), 3) for t in range(500)])')
status=$(curl -s -o /tmp/$PROJECT-forecast.json -w '%{http_code}' -X POST "$URL/forecast" \
    -H 'content-type: application/json' \
    -d "{\"model\": \"synthetic-linear\", \"series\": $series, \"horizon\": 7, \"level\": [80]}")
[ "$status" = 200 ] || fail "POST /forecast answered $status: $(cat /tmp/$PROJECT-forecast.json)"
python3 -c '
import json, sys
body = json.load(open(sys.argv[1]))
assert len(body["forecast"]["values"]) == 7 and "80" in body["forecast"]["intervals"], body
' "/tmp/$PROJECT-forecast.json"
rm -f "/tmp/$PROJECT-forecast.json"
say "POST /forecast: 200, 7 steps with an 80% interval"

# The gRPC port from outside the container: health, TF Serving's Predict, KServe v2's ModelInfer.
TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" deploy/grpc_check.py "127.0.0.1:$GRPC_PORT" "$URL" synthetic-linear \
    2> >(grep -v -e '^WARNING: All log messages' -e '^I0000' >&2) \
    || fail "the gRPC port did not answer as REST does"
# Compose's health check (app.probe: HTTP /ready and gRPC health), run once by hand: podman
# runs health checks from systemd timers, which a machine without systemd does not have.
podman healthcheck run "$(api_container)" >/dev/null \
    || fail "the health check failed inside the container: $(podman healthcheck run "$(api_container)" 2>&1)"
say "gRPC: health SERVING, Predict and ModelInfer equal REST; the container's health check passes"

api=$(api_container)
stop_gracefully() {  # SIGTERM; podman sends SIGKILL after 10 s, which would exit with 137
    say "stopping $api (SIGTERM, SIGKILL after 10 s)"
    local started took code
    started=$(date +%s.%N)
    podman stop -t 10 "$api" >/dev/null
    took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
        "$started" "$(date +%s.%N)")
    code=$(podman inspect --format '{{.State.ExitCode}}' "$api")
    [ "$code" = 0 ] || fail "api exited with $code after $took s (137 is SIGKILL)"
    python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 8)" "$took" || fail "stopping took $took s"
    podman logs --since 5m "$api" 2>&1 | tail -n 20 | grep -q "Finished server process" \
        || fail "uvicorn did not shut down"
    say "stopped gracefully in $took s, exit code 0"
}

stop_gracefully
# podman-compose made api require the one-shot train, so podman restart refuses; start runs
# train again first, which finds the store full and trains nothing.
say "starting $api again"
podman start "$api" >/dev/null
wait_ready 600
after=$(versions)
[ "$after" = "$models" ] || fail "after a restart the store holds '$after', not '$models'"
say "restarted: the store is intact"
stop_gracefully
say "passed"
