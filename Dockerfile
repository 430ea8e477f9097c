# Image for the API, the worker and the one-shot migrate service (same image, different command; see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
# Static assets of the hosted pages, the console and the API docs page live next to their compiled routers.
COPY --from=build /app/http/pages/public ./dist/http/pages/public
COPY --from=build /app/http/console/public ./dist/http/console/public
COPY --from=build /app/http/openapi/public ./dist/http/openapi/public
USER node
EXPOSE 8080
CMD ["node", "dist/api/main.js"]
