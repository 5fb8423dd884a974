# zrmon: the webhook receiver (`zrmon serve`), the rule scheduler (`zrmon scheduler`) and
# the one-shot `zrmon influx setup`, all from one image (docker-compose.yml picks the
# command). Two stages: the first builds a virtualenv with the package installed (not
# editable), the second copies only that virtualenv, so no build tool or source tree ships.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN python -m venv /opt/zrmon \
 && /opt/zrmon/bin/pip install --upgrade pip \
 && /opt/zrmon/bin/pip install . \
 && /opt/zrmon/bin/zrmon --help >/dev/null

FROM ${PYTHON_IMAGE}
# A fixed, unprivileged uid/gid so volume ownership survives image upgrades.
RUN groupadd --system --gid 10001 zrmon \
 && useradd --system --uid 10001 --gid zrmon --home-dir /var/lib/zrmon --no-create-home \
            --shell /usr/sbin/nologin zrmon \
 && mkdir -p /var/lib/zrmon \
 && chown zrmon:zrmon /var/lib/zrmon
COPY --from=build /opt/zrmon /opt/zrmon
COPY rules /etc/zrmon/rules
# ZRMON_DATA_DIR holds the spool, quarantine and state: it must outlive the container.
# MPLCONFIGDIR: matplotlib (reports) needs a writable cache dir; the home is the volume.
# GUNICORN_CMD_ARGS: gunicorn's worker heartbeat files on tmpfs, not on the overlay fs.
ENV PATH=/opt/zrmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ZRMON_DATA_DIR=/var/lib/zrmon \
    ZRMON_RULES_DIR=/etc/zrmon/rules \
    MPLCONFIGDIR=/tmp/matplotlib \
    GUNICORN_CMD_ARGS="--worker-tmp-dir /dev/shm"
VOLUME ["/var/lib/zrmon"]
USER zrmon:zrmon
WORKDIR /var/lib/zrmon
EXPOSE 8080 9108
# The receiver's readiness (InfluxDB reachable, spool writable). The slim image has no
# curl; compose overrides this for the scheduler (its admin port) and setup (one-shot).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=3)"]
ENTRYPOINT ["zrmon"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--admin-host", "0.0.0.0", "--admin-port", "9108"]
