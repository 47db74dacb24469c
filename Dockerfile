# The Tempest image: the worker (`tempest worker`) and the controller (`tempest controller`), one image, the command
# chooses. Multi-stage: production dependencies only (npm ci --omit=dev), the TypeScript sources run by tsx as in a
# checkout (no build step), non-root (uid 10001, as the Helm chart's podSecurityContext), read-only root filesystem
# friendly (writes only to /tmp and /var/lib/tempest, both volumes in the chart).
#
#   docker build -t registry.example.com/platform/tempest:0.1.0 .
#
# It is not built in this project's CI (no container engine, no registry there): test/integration/image.test.ts
# instead copies exactly what the COPY lines below name out of a clean checkout, installs the production
# dependencies the way the first stage does, and runs the entrypoint from there (`--help`, `validate`, a worker that
# bundles its workflows and connects, a controller that reaches its Lease), so a file the image lacks fails a test.
# The base is pinned to an exact Node release (the one the tests run on); pin its digest too in your registry.

FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# The workstation demo (docker-compose.yml): the same, plus the local fleet standing in for api-gateway and the
# seed's examples. `--target demo`; the default target (the last stage) is the worker/controller image.
FROM node:20.20.2-bookworm-slim AS demo
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY client ./client
COPY config ./config
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY scripts/fleet ./scripts/fleet
COPY examples ./examples
COPY deploy/compose ./deploy/compose
# Reports, state and the freeze file of the compose worker (a named volume there, which takes this ownership).
RUN mkdir -p /app/.tempest && chown 10001:10001 /app/.tempest
USER 10001:10001
ENTRYPOINT ["/app/bin/tempest"]

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY client ./client
COPY config ./config
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
RUN groupadd --gid 10001 tempest && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tempest \
 && mkdir -p /var/lib/tempest && chown 10001:10001 /var/lib/tempest
USER 10001:10001
ENTRYPOINT ["/app/bin/tempest"]
CMD ["--help"]
