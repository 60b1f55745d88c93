# The forecasting service. Production default: a GPU image (TensorFlow with its CUDA libraries
# from pip, on a Python base; the host needs NVIDIA's driver and container toolkit). It runs on
# CPU-only hosts too. A CPU image: --build-arg EXTRAS= ; another base: --build-arg BASE_IMAGE=...
# The install step is make's own (`make install`), so the image and a fresh clone set up alike.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG EXTRAS=gpu
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    FORECAST_MODEL_STORE=/srv/forecast/model_store

RUN need=""; \
    command -v make >/dev/null || need="make"; \
    python3 -c "import ensurepip" 2>/dev/null || need="$need python3-venv"; \
    if [ -n "$need" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $need \
        && rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --create-home --uid 10001 forecast \
    && mkdir -p /srv/forecast/model_store \
    && chown -R forecast:forecast /srv/forecast

WORKDIR /srv/forecast
USER forecast

# Dependencies first, so editing the code (or the README) does not re-install TensorFlow.
COPY --chown=forecast:forecast pyproject.toml Makefile ./
RUN mkdir -p app contract training \
    && touch README.md app/__init__.py contract/__init__.py training/__init__.py \
    && make PYTHON=python3 EXTRAS="${EXTRAS}" install
COPY --chown=forecast:forecast README.md ./
COPY --chown=forecast:forecast app ./app
COPY --chown=forecast:forecast contract ./contract
COPY --chown=forecast:forecast training ./training
COPY --chown=forecast:forecast model_store/README.md ./model_store/README.md

# 8000: HTTP (REST, TF Serving's and the OIP's REST halves); 8500: gRPC (FORECAST_GRPC_PORT).
EXPOSE 8000 8500
# Both servers of the process answer: GET /health, and gRPC's health service (app/probe.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD [".venv/bin/python", "-m", "app.probe", "live"]

# The server is PID 1 itself (exec form, no make or shell in between), so it receives SIGTERM,
# stops accepting connections, lets requests in flight finish (at most 5 s) and shuts down.
CMD [".venv/bin/uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", \
     "--timeout-graceful-shutdown", "5"]
