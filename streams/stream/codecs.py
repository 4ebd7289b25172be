"""Faust codecs: agents see pydantic models, never dicts or bytes.

Tables have their own codecs: `streams.stream.tables`.
"""

from __future__ import annotations

from typing import Any

import faust
from pydantic import BaseModel

from streams.contract.decoding import Rejection, decode
from streams.contract.models import ClaimLineEvent


class ClaimLineCodec(faust.Codec):
    """Decodes to a ClaimLineEvent or a Rejection, and never raises.

    Faust drops a record whose codec raises; returning the rejection instead
    lets the agent dead-letter it, so nothing is lost.
    """

    passes_bytes = True
    """Bytes are sent as they are (`_dumps`): the batched producer
    (`streams.stream.kafka.batched_producer`) may send them itself."""

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(max_bytes=max_bytes, **kwargs)
        self.max_bytes = max_bytes

    def _loads(self, s: bytes) -> ClaimLineEvent | Rejection:
        return decode(s, self.max_bytes)

    def _dumps(self, s: Any) -> bytes:
        if isinstance(s, ClaimLineEvent):
            return s.model_dump_json(by_alias=True).encode()
        return bytes(s)


class ModelCodec(faust.Codec):
    """JSON for one pydantic model type on an internal topic."""

    def __init__(self, model: type[BaseModel], **kwargs: Any) -> None:
        super().__init__(model=model.__name__, **kwargs)
        self.model = model

    def _loads(self, s: bytes) -> BaseModel:
        return self.model.model_validate_json(s)

    def _dumps(self, s: Any) -> bytes:
        return bytes(s.model_dump_json(by_alias=True).encode())
