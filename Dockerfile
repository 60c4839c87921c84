# metalgraph server image. With docker-compose.yml it runs against Neo4j; alone it runs the
# embedded FalkorDB store in /data (mount a volume there to keep it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY server/ server/
COPY schema/ schema/
COPY drivers/ drivers/
COPY client/ client/
COPY tui/ tui/
RUN pip install . \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/metalgraph metalgraph \
    && mkdir -p /data \
    && chown metalgraph:metalgraph /data

# Settings come from METALGRAPH_* variables (metalgraph.server.settings.Settings).
ENV METALGRAPH_HOST=0.0.0.0 \
    METALGRAPH_PORT=8080 \
    METALGRAPH_DATA_DIR=/data

USER metalgraph
WORKDIR /home/metalgraph
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('METALGRAPH_PORT', '8080'), timeout=4)"]

CMD ["metalgraph", "serve", "--host", "0.0.0.0"]
