# recsys HTTP service. Build:  docker build -t recsys .
# Serve the demo:              docker run -p 8000:8000 recsys
# Serve real data:             docker run -p 8000:8000 -v /path/ml-latest-small:/data:ro \
#                                -e RECSYS_DATA=/data recsys        (trains at start, then cached)
# Serve a trained model:       docker run -p 8000:8000 -v /path/artifact:/model:ro \
#                                -e RECSYS_MODEL=/model recsys
# Dependencies come from poetry.lock (exported with poetry-plugin-export); pip uses the index
# of the build machine's default configuration.

# -- build: a virtual environment with the locked dependencies and recsys -----------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/poetry \
 && /opt/poetry/bin/pip install "poetry>=2,<3" "poetry-plugin-export>=1.8"
WORKDIR /src
COPY pyproject.toml poetry.lock README.md ./
RUN /opt/poetry/bin/poetry export --only main --format requirements.txt --output requirements.txt \
 && python -m venv /venv \
 && /venv/bin/pip install --require-hashes --no-deps -r requirements.txt
COPY recsys ./recsys
# Bytecode compiled here, once: the runtime user cannot write it into /venv, and compiling every
# module from source at each start costs seconds. Unchecked hashes: the image never changes.
RUN /venv/bin/pip install --no-deps . \
 && /venv/bin/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /venv

# -- runtime: the environment, a non-root user, and the demo model trained at build time --------
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    RECSYS_ARTIFACT_CACHE=/home/app/artifacts \
    RECSYS_CACHE_DIR=/home/app/cache \
    NUMBA_CACHE_DIR=/home/app/numba
WORKDIR /app
COPY server.py ./
USER app
# The start-up path itself trains the demo model and caches it, so a container with nothing set
# finds it and is ready in about a second.
RUN python -c "from recsys.config import Settings; from recsys.service import load_service; \
service = load_service(Settings()); service.warm(); print(service.model_info()['data'])"
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import sys, urllib.request; \
sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status != 200)"
# recsys serve, not uvicorn server:app: only it applies the connection limits (README "Limits and
# security"): request head size, header and idle timeouts, connection and concurrency caps.
CMD ["recsys", "serve", "--host", "0.0.0.0", "--port", "8000"]
