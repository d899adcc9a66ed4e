# torc-grpc server image.
#   build:  docker build -t torc-grpc .
#   run:    docker run -d --name torc -p 50051:50051 -v torc-data:/data -v /etc/torc:/etc/torc:ro \
#             -e TORC_AUTH_FILE=/etc/torc/users.json -e TORC_SERVER_TLS_CERT=/etc/torc/server.pem \
#             -e TORC_SERVER_TLS_KEY=/etc/torc/server.key -e TORC_TLS_CA=/etc/torc/ca.pem torc-grpc
#           (the server listens on 0.0.0.0 in the container, so it refuses to start without an
#           auth file and TLS: docs/security.md; TORC_TLS_CA lets the health check speak TLS)
#   stop:   docker stop torc   (SIGTERM: drains, flushes, checkpoints the database)
# The database lives in the /data volume; keep it on a local disk (SQLite WAL).

# ---- build stage: compile the Cython kernels into a wheel
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY protos ./protos
COPY torc_core ./torc_core
COPY torc_grpc ./torc_grpc
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# ---- runtime stage: the wheel and its dependencies, no compiler
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin torc \
    && mkdir -p /data && chown torc:torc /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER torc
WORKDIR /data
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-m", "torc_grpc.healthcheck", "127.0.0.1:50051"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["torc-grpc", "serve", "--db", "/data/torc.db", "--host", "0.0.0.0", "--port", "50051"]
