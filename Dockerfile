# MedQC service image: Python 3.11 + Node 20 (the CQL engine runs in a Node worker).
# Build from the repository root:  docker build -t medqc .
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates gnupg \
    && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
    && apt-get install -y --no-install-recommends nodejs build-essential \
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
# The CQL worker's Node packages go beside the installed worker script (measures/cql in site-packages).
RUN python -m venv /opt/medqc && /opt/medqc/bin/pip install --no-cache-dir . \
    && CQL_DIR="$(/opt/medqc/bin/python -c 'import measures, pathlib; print(pathlib.Path(measures.__file__).parent / "cql")')" \
    && npm ci --prefix "$CQL_DIR" --omit=dev --no-audit --no-fund

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
    && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
    && apt-get install -y --no-install-recommends nodejs \
    && apt-get purge -y gnupg && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 medqc
COPY --from=build /opt/medqc /opt/medqc
ENV PATH=/opt/medqc/bin:$PATH \
    MEDQC_DATABASE_URL=sqlite+aiosqlite:////home/medqc/var/medqc.sqlite \
    MEDQC_ELM_CACHE_DIR=/home/medqc/var/elm-cache \
    PYTHONUNBUFFERED=1
USER medqc
WORKDIR /home/medqc
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["medqc", "serve", "--host", "0.0.0.0", "--port", "8080"]
