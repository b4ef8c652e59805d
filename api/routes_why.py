"""POST /v1/decisions/{decision_id}/redecide: a logged decision decided again, its difference
and what would change it (the door of api/usecases/why.py).

The body says under which rule set: JSON `{"ruleset": "active" | "original" | "NAME@DIGEST" |
"NAME@VERSION" | "VERSION", "remedies": true}` (a bare VERSION or digest: of the logged
decision's own rule set) (both optional; an empty body is the active set with
remedies). A candidate is uploaded first with POST /v1/rulesets (stored, not activated) and
named by the NAME@DIGEST it answers, as simulations name theirs: a rule set is always a stored
version, never a path on the server. The request is decided with the ORIGINAL as-of date;
nothing is written to the decision log.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ordinance.adapters.store import Invalid
from ordinance.engine import codec

from . import schemas
from .auth import check_key
from .routes_decisions import errors, json_schema_response, json_text, raw_body
from .usecases import why

router = APIRouter(tags=["decisions"])

REDECIDE_BODY = {"required": False, "content": {
    "application/json": {"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "ruleset": {"type": "string", "maxLength": 300,
                        "description": "active (default), original, NAME@DIGEST, "
                                       "NAME@VERSION, or a VERSION of the decision's own "
                                       "rule set"},
            "remedies": {"type": "boolean", "description": "default true"}}},
        "example": {"ruleset": "acme-distribution@2026.12.0"}},
}}
ANSWER = {"type": "object",
          "required": ["decision_id", "as_of", "original", "redecided", "same", "difference"],
          "properties": {"decision_id": {"type": "string"}, "as_of": {"type": "string"},
                         "original": {"type": "object"}, "redecided": {"type": "object"},
                         "same": {"type": "boolean"}, "difference": {"type": "object"},
                         "why": {"type": ["object", "null"]}}}


def _question(raw: bytes) -> tuple[str | None, bool]:
    """The JSON body: (ruleset reference, remedies)."""
    if not raw.strip():
        return None, True
    try:
        body = codec.read(raw, max_items=16, max_lines=16, max_bytes=4096)
    except codec.Refused as exc:
        raise Invalid(exc.message, code="BAD_JSON", path=exc.path) from None
    if not isinstance(body, dict):
        raise Invalid("the body is a JSON object {\"ruleset\", \"remedies\"}",
                      code="BAD_REQUEST", path="$")
    for k in body:
        if k not in ("ruleset", "remedies"):
            raise Invalid(f"unknown field {k!r} (expected ruleset, remedies)",
                          code="BAD_REQUEST", path=f"$.{k}")
    ref, remedies = body.get("ruleset"), body.get("remedies", True)
    if ref is not None and (not isinstance(ref, str) or not ref or len(ref) > 300
                            or "\x00" in ref):
        raise Invalid("ruleset is active, original, NAME@DIGEST, NAME@VERSION or VERSION",
                      code="BAD_REQUEST", path="$.ruleset")
    if not isinstance(remedies, bool):
        raise Invalid("remedies is true or false", code="BAD_REQUEST", path="$.remedies")
    return ref, remedies


@router.post("/v1/decisions/{decision_id}/redecide",
             summary="Decide a logged decision's request again (active, original, a stored "
                     "version or an uploaded candidate) with its original as-of: both "
                     "decisions, their difference and the verified remedies",
             openapi_extra={"requestBody": REDECIDE_BODY},
             responses={200: json_schema_response("the two decisions, their difference, "
                                                  "the remedies", ANSWER),
                        **errors(404, 409, body=True)})
async def redecide(request: Request,
                   decision_id: str = Path(min_length=1, max_length=40,
                                           pattern=schemas.NO_NUL)) -> Response:
    await check_key(request, "analyst")
    ref, remedies = _question(await raw_body(request))
    out: dict[str, Any] = await why.redecide_async(request.app.state.ctx, decision_id, ref,
                                                   remedies)
    return json_text(codec.dumps(out))
