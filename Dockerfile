# copilot in a container: the project and its embedded model, run as a non-root user.
# Built and run by container.sh; problems/, workspaces/ and logs/ are mounted from the host at run time.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git bubblewrap \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 copilot
USER copilot
WORKDIR /home/copilot/app
COPY --chown=copilot:copilot pyproject.toml README.md ./
COPY --chown=copilot:copilot copilot ./copilot
COPY --chown=copilot:copilot conf ./conf
COPY --chown=copilot:copilot scripts ./scripts
RUN bash scripts/bootstrap.sh --model
ENTRYPOINT [".venv/bin/python", "-m", "copilot"]
