# One image for the worker and the API (`tocsin worker`, `tocsin api`); docker-compose.yml runs
# both against a Temporal cluster and PostgreSQL.
FROM python:3.11-slim

# MALLOC_ARENA_MAX: two of glibc's allocator arenas, not one per thread up to 8 per core: the
# worker's memory per open incident grows less (docs/adr/0035-two-malloc-arenas.md).
# PYTHONMALLOC=malloc: Python's objects from glibc too, whose free pages the worker's trimmer
# gives back after a burst (docs/adr/0039-python-objects-from-glibc-and-a-small-cache.md).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PYTHONMALLOC=malloc \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tocsin

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY domain ./domain
COPY adapters ./adapters
COPY playbooks ./playbooks
COPY alerts ./alerts
COPY workflows ./workflows
COPY api ./api
COPY tocsin ./tocsin
# The versions the test suite last passed with (constraints.txt).
RUN pip install -c constraints.txt '.[postgres]' && rm -rf /src

USER tocsin
WORKDIR /home/tocsin
ENV TOCSIN_DATA_DIR=/home/tocsin/data \
    TOCSIN_API_HOST=0.0.0.0 \
    TOCSIN_API_PORT=8080
EXPOSE 8080
# The API's liveness; docker-compose.yml gives the worker its own check (its metrics port)
# and turns it off for the one-off migration.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=4 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('TOCSIN_API_PORT', '8080')}/healthz\", timeout=3)"]
CMD ["tocsin", "api"]
