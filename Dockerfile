FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /srv/kneetrack
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev && useradd --system --uid 10001 kneetrack
ENV PATH="/srv/kneetrack/.venv/bin:$PATH"
USER kneetrack
EXPOSE 8000
CMD ["kneetrack", "serve", "--host", "0.0.0.0", "--port", "8000"]
