# syntax=docker/dockerfile:1
# Three images from one file:
#   api         serves LiteRT exports; no TensorFlow       docker build --target api .
#   worker      trains on the CPU (tensorflow-cpu)          docker build --target worker .
#   worker-gpu  trains on NVIDIA GPUs (tensorflow[and-cuda]) docker build --target worker-gpu .
# The installs are the ones `make install` and the tests use: the project with one extra.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS source
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HANDCALC_STATE_DIR=/var/lib/handcalc \
    HANDCALC_ARTIFACT_ROOT=/artifacts \
    HANDCALC_STARTER_DIR=/srv/handcalc/starter
RUN useradd --create-home --uid 10001 handcalc \
    && mkdir -p /var/lib/handcalc /artifacts \
    && chown handcalc:handcalc /var/lib/handcalc /artifacts
WORKDIR /srv/handcalc
COPY pyproject.toml README.md ./
COPY models ./models
COPY app ./app
COPY worker ./worker
COPY starter ./starter

FROM source AS api
RUN pip install .
USER handcalc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["handcalc", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM source AS worker
RUN pip install ".[train]"
USER handcalc
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["sh", "-c", "celery -A worker.celery_app inspect ping --timeout 10 --destination celery@$HOSTNAME"]
CMD ["handcalc", "worker"]

FROM source AS worker-gpu
RUN pip install ".[gpu]"
USER handcalc
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["sh", "-c", "celery -A worker.celery_app inspect ping --timeout 10 --destination celery@$HOSTNAME"]
CMD ["handcalc", "worker"]
