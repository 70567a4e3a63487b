"""GET /api/v1/me: who the token belongs to, and what it may do."""

from __future__ import annotations

from webapp.api import ApiBlueprint, auth
from webapp.api.routes import problems
from webapp.api.schemas import MeSchema

blp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1", description="The token's owner")


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
@problems(blp)
def me():
    """The user this token belongs to, and the token itself."""
    user, token = auth.current_user(), auth.current_token()
    return {
        "id": user.id,
        "email": user.email,
        "is_admin": user.is_admin,
        "created_at": user.created_at,
        "token": {
            "id": token.id,
            "name": token.name,
            "prefix": token.prefix,
            "scopes": [scope.value for scope in sorted(token.scope_set)],
            "created_at": token.created_at,
            "expires_at": token.expires_at,
        },
    }
