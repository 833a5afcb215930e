# One image for the worker and the API (`tocsin worker`, `tocsin api`); docker-compose.yml runs
# both against a Temporal cluster and PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tocsin

WORKDIR /src
COPY pyproject.toml README.md ./
COPY tocsin ./tocsin
COPY workflows ./workflows
COPY api ./api
COPY playbooks ./playbooks
COPY alerts ./alerts
RUN pip install '.[postgres]' && rm -rf /src

USER tocsin
WORKDIR /home/tocsin
ENV TOCSIN_DATA_DIR=/home/tocsin/data \
    TOCSIN_API_HOST=0.0.0.0 \
    TOCSIN_API_PORT=8080
EXPOSE 8080
CMD ["tocsin", "api"]
