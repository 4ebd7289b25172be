"""How the tables store a value: the state's JSON, compressed against a fixed dictionary.

A worker holds every patient's history and every claim for days, in memory with
`memory://` and in its changelog on the broker either way. A one-line claim is about
1.9 kB of JSON, most of it the same keys and texts as every other claim's; zstd
against a dictionary of such states stores it in about 150 bytes
(`benchmarks/state_dictionary.py`).

A stored value is either

- the state's JSON, starting with `{`: what changelogs held before compression, and
  what `J9262_TABLE_COMPRESSION=none` writes; or
- a tag byte naming the dictionary (1: `dictionaries/state-v1.zdict`), then a zstd frame.

Every worker reads both whatever it writes, so compression can be turned on or off,
and workers of both kinds can run side by side, over the same changelogs. A
dictionary is frozen once shipped: a better one is added under the next tag.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import zstandard

Compression = Literal["zstd", "none"]

#: The dictionaries by tag byte. Never change or drop one a release has written.
DICTIONARIES = {1: "state-v1.zdict"}
WRITTEN_TAG = 1
LEVEL = 1


def _dictionary(tag: int) -> zstandard.ZstdCompressionDict:
    name = DICTIONARIES[tag]
    content = resources.files(__package__).joinpath("dictionaries", name).read_bytes()
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


class StateCodec:
    """Table values to and from the bytes the store and the changelog keep."""

    def __init__(self, compression: Compression = "zstd") -> None:
        self.compression = compression
        dictionaries = {tag: _dictionary(tag) for tag in DICTIONARIES}
        self._readers = {
            tag: zstandard.ZstdDecompressor(dict_data=d) for tag, d in dictionaries.items()
        }
        written = dictionaries[WRITTEN_TAG]
        written.precompute_compress(level=LEVEL)
        self._writer = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=written, write_checksum=False, write_dict_id=False
        )
        self._tag = bytes([WRITTEN_TAG])

    def encode(self, json: bytes) -> bytes:
        if self.compression == "none":
            return json
        return self._tag + self._writer.compress(json)

    def decode(self, stored: bytes) -> bytes:
        """The JSON of a stored value, whichever way it was written.

        Raises ValueError for bytes in no known form (the message never quotes them)."""
        if not stored or stored[:1] == b"{":
            return stored
        reader = self._readers.get(stored[0])
        if reader is None:
            raise ValueError(f"stored value in an unknown form (first byte 0x{stored[0]:02x})")
        try:
            return reader.decompress(stored[1:])
        except zstandard.ZstdError as exc:
            raise ValueError(f"stored value does not decompress ({exc})") from None
