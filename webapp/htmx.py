"""HTMX request helpers: one template per page, one block per swap.

A navigation (or a boosted link) gets the whole page; an HTMX request aimed at a fragment's
id gets just that block, rendered from the same template so the two never drift apart.
"""

from __future__ import annotations

from flask import render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_target() -> str | None:
    """The id of the element an HTMX request will swap, if any."""
    return request.headers.get("HX-Target") if is_htmx() else None


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def render_page(template: str, blocks: dict[str, str] | None = None, **context) -> str:
    """Render the block whose element id the request targets, else the full page.

    `blocks` maps element ids to block names, e.g. {"bot-status": "status"}. A boosted
    navigation targets <body> and so always gets the full page.
    """
    target = htmx_target()
    if target and not is_boosted() and blocks and target in blocks:
        return render_block(template, blocks[target], **context)
    return render_template(template, **context)
