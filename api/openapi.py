"""The OpenAPI document tells which problems each operation can answer with (and, with an
OIDC provider, that its tokens are a way in): every error is `application/problem+json`,
and the statuses follow from what an operation takes (a path id: 404; a bearer token: 400,
401, 403, and 409 for an outside user's first token whose handle is taken; a change: 409,
413, 429; `?after=`: 429, 503; a Space: 410 once ended). FastAPI's own 422 is documented as
the problem it is turned into."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}},
}
WHY = {400: "Bad request (a token in the URL outside the stream, a malformed SDP offer)",
       401: "No token, or a bad one", 403: "Not allowed (not the host, removed, blocked)",
       404: "Unknown id", 409: "A rule is broken (or an Idempotency-Key is in progress, or the "
                                "handle of an outside user's first token is taken)",
       410: "The Space has ended", 413: "The body is too large", 415: "Not application/sdp",
       422: "Invalid input", 429: "Too many requests (see Retry-After)",
       503: "Not ready (views not caught up, workers starting, media node full)"}
CHANGING = {"post", "put", "patch", "delete"}


def statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    found = {422}
    if "{" in path or path == "/v1/accounts":  # an id in the path, or a handle looked up
        found.add(404)
    if operation.get("security"):  # 409: an outside user's first token with a taken handle
        found |= {400, 401, 403, 409}
    if method in CHANGING:
        found |= {400, 409, 413, 429}  # 400: a body that is not JSON
    if any(p.get("name") == "after" for p in operation.get("parameters", [])):
        found |= {429, 503}
    if "{space_id}" in path:
        found |= {409, 410}
    if path.endswith(("/audio/publish", "/audio/listen")):
        found |= {400, 415, 503}
    if path == "/healthz":
        found = {503}
    return found


def optional_sign_in(route: Any) -> bool:
    """Whether the route also answers people without a token (anonymous listeners)."""
    from api.deps import optional_caller, stream_caller

    def calls(dependant: Any) -> set[Any]:
        return {dependant.call} | {c for d in dependant.dependencies for c in calls(d)}

    return bool(calls(route.dependant) & {optional_caller, stream_caller})


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter is left out, never sent as null: `X | None` documents as X."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1 and len(schema["anyOf"]) == 2:
        return {**{k: v for k, v in schema.items() if k != "anyOf"}, **options[0]}
    return schema


def document_problems(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        page = {"text/html": {"schema": {"type": "string"}}}
        optional = {(route.path, method.lower()) for route in app.routes
                    if isinstance(route, APIRoute) and optional_sign_in(route)
                    for method in route.methods}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if (path, method) in optional and operation.get("security"):
                    operation["security"] = [{}, *operation["security"]]  # a token is optional
                for parameter in operation.get("parameters", []):
                    parameter["schema"] = not_null(parameter.get("schema", {}))
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses(path, method, operation)):
                    documented = responses.setdefault(str(status), {"description": WHY[status]})
                    documented["content"] = page if path.startswith("/s/") and status in (
                        404, 410) else problem
        _document_oidc(schema, app.state.system.settings.oidc_issuer)
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_oidc(schema: dict[str, Any], issuer: str | None) -> None:
    """With an OpenID Connect provider, its tokens are the other way in, beside `bearer`
    (which they also are, on the wire)."""
    if not issuer:
        return
    schema["components"].setdefault("securitySchemes", {})["oidc"] = {
        "type": "openIdConnect",
        "openIdConnectUrl": issuer.rstrip("/") + "/.well-known/openid-configuration",
        "description": "Tokens of the OpenID Connect provider this server trusts "
                       "(SPACES_OIDC_ISSUER, with aud SPACES_OIDC_AUDIENCE), as a bearer token."}
    for operations in schema["paths"].values():
        for operation in operations.values():
            if operation.get("security"):
                operation["security"].append({"oidc": []})
