# Build: compile TypeScript. Run: production dependencies and the compiled code only: no tsx and no
# embedded-postgres (development dependencies), so without DATABASE_URL every role exits naming it.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
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
ENTRYPOINT ["node", "dist/main.js"]
CMD ["api"]
