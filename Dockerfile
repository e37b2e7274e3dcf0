# Same install path as a bare machine: scripts/setup.mjs does the apt packages, the native
# builds and the model bundle; running it at build time makes the image start without network.
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 libfaiss-dev libopenblas-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY scripts ./scripts
COPY models/manifest.json ./models/manifest.json
RUN node scripts/setup.mjs

COPY tsconfig.json ./
COPY config ./config
COPY src ./src

ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
# jemalloc (installed by setup.mjs), as `npm start` runs it: on glibc's malloc the resident set grows under load
ENV LD_PRELOAD=libjemalloc.so.2
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/api/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
