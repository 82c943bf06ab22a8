FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["granian", "--interface", "asgi", "flexpass.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
