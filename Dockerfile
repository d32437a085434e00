# One image for every role: the container's command names it (api, relay, indexer, migrate, import,
# reindex, reconcile, replay-dead-letters; src/main.ts). Build: compile TypeScript. Run: production
# dependencies and the compiled code only: no tsx and no embedded-postgres (development dependencies),
# so without DATABASE_URL every role exits naming it. .dockerignore keeps the context to what is COPYed.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
# PID 1 is tini, not node. Node would get SIGTERM as PID 1 only for the signals it handles, which the
# api, relay, indexer, import, reindex and reconcile do (src/roles/shutdown.ts); but migrate and
# replay-dead-letters keep Node's default (die at once, which is safe for them: docs/operations.md), and
# as PID 1 the kernel ignores a default-action SIGTERM, so `docker stop` would wait out its grace period
# and SIGKILL. tini forwards the signal to node and reaps orphans re-parented to PID 1. The api's
# cluster mode (API_WORKERS) needs no more: the primary is its workers' parent and reaps them, and tini
# signals the primary alone (no -g) so that it, not the kernel, stops its workers in order.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
# V8's old space bounded as `npm start` bounds it: at 256 MiB or less V8 grows its heap by about 1.3x
# the live data instead of 4x (docs/memory.md). Raise it with the cache bounds.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 NODE_OPTIONS=--max-old-space-size=256
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Not TypeScript, so tsc leaves it behind; both search engines read it beside their compiled code.
COPY src/search/synonyms.txt ./dist/search/synonyms.txt
COPY migrations ./migrations
COPY data ./data
USER node
EXPOSE 3000
# Liveness of the role on PORT (/health/live; src/healthcheck.ts says why not readiness). The image has
# no curl: a few lines of node ask. The long-running roles (api, relay, indexer) all serve it; compose
# turns the check off for the one-shot roles, which serve nothing.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["tini", "--", "node", "dist/main.js"]
CMD ["api"]
