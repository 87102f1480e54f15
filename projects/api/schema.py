"""The OpenAPI schema's additions to drf-spectacular's: what every POST of the API accepts."""

from __future__ import annotations

import copy

from drf_spectacular.openapi import AutoSchema

from projects.api.idempotency import HEADER, IdempotentPostMixin

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "A key of the client's choosing (e.g. a UUID): the same key with the same "
    "request within a day answers the first answer again and writes nothing (header "
    "`Idempotent-Replayed: true`); with another request, 422. See docs/api.md.",
}


class TrackerAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if (
            operation is None
            or self.method != "POST"
            or not isinstance(self.view, IdempotentPostMixin)
        ):
            return operation
        responses = operation.get("responses", {})
        error = next((responses[code] for code in ("400", "404") if code in responses), None)
        if error is None:
            return operation
        operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_PARAMETER))
        for code in ("400", "422"):
            responses.setdefault(code, {**error, "description": ""})
        return operation
