# MedQC service image: Python 3.11 + Node 20 (the CQL engine runs in Node worker processes in the container).
# One image for both deployment tracks (deploy/helm/medqc); configuration picks the track.
#
#   docker build -t medqc .                       # from the repository root
#   docker run -p 8080:8080 -e MEDQC_BASE_URL=https://medqc.example.org medqc
#
# MEDQC_BASE_URL is the URL clients reach MedQC at: CDS Hooks JWTs must carry it as their audience and
# FHIR links (Bundle.link, Location headers) are built from it. The default below only fits a local run.
# var/ (/home/medqc/var: SQLite fallback database, ELM cache) is a volume; the root filesystem can be
# read-only. The knowledge-base retrieval index is built into the image (/opt/medqc/kb).

# Node comes from the official image, copied in (no install script piped into a shell).
FROM node:20-bookworm-slim AS node

FROM python:3.11-slim-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY medqc medqc
COPY fhir_ops fhir_ops
COPY cds_services cds_services
COPY measures measures
COPY agents agents
COPY knowledge_base knowledge_base
COPY conformance conformance
# The CQL worker's Node packages go beside the installed worker script (measures/cql in site-packages),
# from the committed lockfile.
RUN python -m venv /opt/medqc && /opt/medqc/bin/pip install --no-cache-dir . \
    && CQL_DIR="$(/opt/medqc/bin/python -c 'import measures, pathlib; print(pathlib.Path(measures.__file__).parent / "cql")')" \
    && npm ci --prefix "$CQL_DIR" --omit=dev --no-audit --no-fund
# Prebuild the knowledge-base index, so no replica builds it at start-up (or needs a writable place for it).
RUN MEDQC_KB_DIR=/opt/medqc/kb /opt/medqc/bin/medqc kb build

FROM python:3.11-slim-bookworm
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 --user-group medqc \
    && mkdir -p /home/medqc/var && chown medqc:medqc /home/medqc/var
COPY --from=build /opt/medqc /opt/medqc
ENV PATH=/opt/medqc/bin:$PATH \
    MEDQC_BASE_URL=http://127.0.0.1:8080 \
    MEDQC_DATABASE_URL=sqlite+aiosqlite:////home/medqc/var/medqc.sqlite \
    MEDQC_ELM_CACHE_DIR=/home/medqc/var/elm-cache \
    MEDQC_KB_DIR=/opt/medqc/kb \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/medqc
VOLUME ["/home/medqc/var"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["medqc"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
