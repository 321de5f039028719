# Flowtrail image for the distributed deployment (docker-compose.yml): one image, the service is the command,
# e.g. `docker run flowtrail:local writer`. TypeScript runs through tsx, so there is no compile step.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The same install as .ci/run: `npm ci` refuses this lock (chdb lists per-platform builds the
# registry does not serve), `npm install` honours the lock for everything else.
RUN npm install --no-audit --no-fund
COPY . .
# Builds the UI bundle into ui/dist (Vite is a dev dependency, so before the prune); the query
# service serves it and, finding it newer than its sources, never rebuilds at runtime.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    FLOWTRAIL_DATA_DIR=/var/lib/flowtrail \
    FLOWTRAIL_HTTP_HOST=0.0.0.0 \
    FLOWTRAIL_HTTP_PORT=8080 \
    FLOWTRAIL_GRPC_PORT=4245
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /var/lib/flowtrail && chown node:node /var/lib/flowtrail
USER node
EXPOSE 8080 4245
ENTRYPOINT ["node", "bin/flowtrail.js"]
CMD ["start"]
