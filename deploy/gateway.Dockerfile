# llmotel gateway image: docker build -f deploy/gateway.Dockerfile -t llmotel-gateway:0.1.0 .
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY llmotel ./llmotel
RUN pip install --no-cache-dir ".[pii,evaluators]" && useradd --uid 10001 --create-home llmotel \
    && mkdir -p /var/spool/llmotel && chown llmotel /var/spool/llmotel
USER 10001
EXPOSE 4317 4318
ENTRYPOINT ["llmotel", "gateway"]
