"""The OpenAPI document: what flask-smorest generates from the routes and schemas, plus an
operationId per operation (the view's name) and the links between operations, so a client
(or schemathesis' stateful phase) can follow from what a POST or a list returns to the
operations on that resource."""

from __future__ import annotations

import copy
import re

from flask import Flask

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")

#: (source operation, status) -> {link name: (target operation, {parameter: expression})}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {}


def _bot_links(expr: str) -> dict[str, tuple[str, dict[str, str]]]:
    ids = {"bot_id": expr}
    return {
        "GetBot": ("get_bot", ids),
        "UpdateBot": ("update_bot", ids),
        "StartBot": ("start_bot", ids),
        "StopBot": ("stop_bot", ids),
        "SellPosition": ("sell", ids),
        "Performance": ("performance", ids),
        "DeleteBot": ("delete_bot", ids),
    }


LINKS[("create_bot", "201")] = _bot_links("$response.body#/id")
LINKS[("list_bots", "200")] = _bot_links("$response.body#/items/0/id")
LINKS[("add_key", "201")] = {
    "GetKey": ("get_key", {"key_id": "$response.body#/id"}),
    "DeleteKey": ("delete_key", {"key_id": "$response.body#/id"}),
}
LINKS[("list_keys", "200")] = {
    "GetKey": ("get_key", {"key_id": "$response.body#/items/0/id"}),
}
LINKS[("list_notifications", "200")] = {
    "GetNotification": ("get_notification", {"public_id": "$response.body#/items/0/id"}),
    "Resend": ("resend", {"public_id": "$response.body#/items/0/id"}),
}
for _source, _expr in (
    (("create_webhook", "201"), "$response.body#/id"),
    (("list_webhooks", "200"), "$response.body#/items/0/id"),
):
    LINKS[_source] = {
        "RotateSecret": ("rotate_webhook", {"endpoint_id": _expr}),
        "DeleteWebhook": ("delete_webhook", {"endpoint_id": _expr}),
    }


def document(app: Flask) -> dict:
    doc = copy.deepcopy(app.extensions["api"].spec.to_dict())
    operations: set[str] = set()
    for rule in app.url_map.iter_rules():
        blueprint, _, name = rule.endpoint.partition(".")
        if not blueprint.startswith("api_") or blueprint == "api_docs":
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"].get(path, {}).get(method.lower())
            if operation is not None:
                operation["operationId"] = name
                operations.add(name)
    for path_item in doc["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                links = LINKS.get((operation.get("operationId"), status))
                if not links or "$ref" in response:
                    continue
                response["links"] = {
                    name: {"operationId": target, "parameters": parameters}
                    for name, (target, parameters) in links.items()
                    if target in operations
                }
    return doc
