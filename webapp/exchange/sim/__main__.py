"""`python -m webapp.exchange.sim [--port P] [--seed N] [--account KEY:SECRET...]`."""

from __future__ import annotations

from .cli import serve

if __name__ == "__main__":
    serve(prog_name="python -m webapp.exchange.sim")
