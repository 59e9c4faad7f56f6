# The chatsync services (api, worker, producers) for docker-compose.kafka.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY chatsync ./chatsync
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system chatsync \
    && mkdir -p /var/lib/chatsync && chown chatsync /var/lib/chatsync
USER chatsync
ENV CHATSYNC_VAR_DIR=/var/lib/chatsync
CMD ["chatsync", "api", "--host", "0.0.0.0"]
