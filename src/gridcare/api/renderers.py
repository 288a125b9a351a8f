"""The API's JSON renderer: DRF's, with an answer already in stored form written from its own JSON text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers

from gridcare.api.jsontext import StoredForm


class JSONRenderer(renderers.JSONRenderer):
    """A :class:`~gridcare.api.jsontext.StoredForm` (plain values, e.g. a head-end batch's thousand results) is
    answered with the text written once for its idempotency record — the same bytes DRF's renderer would write.
    Everything else, and any indented answer, is rendered by DRF."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if (
            type(data) is StoredForm
            and self.get_indent(accepted_media_type or "", renderer_context or {}) is None
        ):
            return data.encoded()
        return super().render(data, accepted_media_type, renderer_context)
