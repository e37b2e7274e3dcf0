# Same install path as a bare machine: scripts/setup.mjs does the apt packages, the native
# builds and the model bundle; running it at build time makes the image start without network.
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 libfaiss-dev libopenblas-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY scripts ./scripts
# setup converts the models that ship only as TFLite with the project's own converter
COPY tools/tflite-onnx ./tools/tflite-onnx
COPY models/manifest.json ./models/manifest.json
# Dev dependencies (test runner, benchmark peers) are built for setup's checks, then dropped from the image.
RUN node scripts/setup.mjs && npm prune --omit=dev --no-audit --no-fund

COPY tsconfig.json ./
COPY config ./config
COPY src ./src
# the operator console's static pages, served at /console/
COPY console ./console

ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data NODE_ENV=production
# jemalloc (installed by setup.mjs), as `npm start` runs it: on glibc's malloc the resident set grows under load
ENV LD_PRELOAD=libjemalloc.so.2
# The server runs as the image's unprivileged "node" user: it owns only the data volume.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/api/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
