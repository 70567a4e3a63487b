"""HTMX request helpers: one template per page, one block per swap.

A navigation (or a boosted link) gets the whole page; an HTMX request aimed at a fragment's
id gets just that block, rendered from the same template so the two never drift apart.
"""

from __future__ import annotations

import jinja2.meta
from flask import current_app, render_template, request
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


def template_names(template: str) -> frozenset[str]:
    """The context names `template` and every template it extends, includes or imports may
    read, for a route that builds costly values only for the page that shows them. Kept per
    app, except while templates reload (a template edited in development is read afresh)."""
    env = current_app.jinja_env
    cache = current_app.extensions.setdefault("template_names", {})
    names = None if env.auto_reload else cache.get(template)
    if names is None:
        names = cache[template] = frozenset(_names(env, template, set()))
    return names


def _names(env, template: str, seen: set[str]) -> set[str]:
    if template in seen:
        return set()
    seen.add(template)
    tree = env.parse(env.loader.get_source(env, template)[0])
    names = set(jinja2.meta.find_undeclared_variables(tree))
    for other in jinja2.meta.find_referenced_templates(tree):
        if other is None:  # a name computed at render time: no page here does that
            raise ValueError(f"{template} refers to a template by a computed name")
        names |= _names(env, other, seen)
    return names
