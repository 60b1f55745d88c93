# The forecasting service on TensorFlow's GPU image; it runs on CPU-only hosts too.
# The install steps are make's own (`make install`, `make train-defaults`, `make serve`), so the
# image and a fresh clone set up the same way.
ARG TF_VERSION=2.21.0
FROM tensorflow/tensorflow:${TF_VERSION}-gpu

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    FORECAST_MODEL_STORE=/srv/forecast/model_store

RUN apt-get update \
    && apt-get install -y --no-install-recommends make python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 forecast \
    && mkdir -p /srv/forecast/model_store \
    && chown -R forecast:forecast /srv/forecast

WORKDIR /srv/forecast
USER forecast

# Dependencies first, so editing the code does not re-install TensorFlow.
COPY --chown=forecast:forecast pyproject.toml Makefile README.md ./
RUN mkdir -p app training && touch app/__init__.py training/__init__.py \
    && make PYTHON=python3 install
COPY --chown=forecast:forecast app ./app
COPY --chown=forecast:forecast training ./training
COPY --chown=forecast:forecast model_store/README.md ./model_store/README.md

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"

CMD ["make", "serve", "STORE=/srv/forecast/model_store"]
