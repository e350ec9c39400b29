"""The web app: live wallboard pages, the JSON API, login with roles, Prometheus metrics (aiohttp)."""
