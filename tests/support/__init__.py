"""Real services for the tests: a private Redis server, an SMTP sink, a live app server."""
