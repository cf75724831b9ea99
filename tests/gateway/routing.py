"""Trace-ID routing as the OpenTelemetry Collector's ``loadbalancing`` exporter does it (``routing_key: traceID``).

A consistent-hash ring: each endpoint (the resolver's list, sorted) takes 100 positions on a ring of 36,000, the
CRC-32 (IEEE) of the endpoint's bytes followed by the point's index as one byte, modulo 36,000; a position already
taken by an earlier endpoint is skipped. A trace goes to the first position at or after the CRC-32 of its 16 id
bytes modulo 36,000, wrapping around. (The algorithm of ``exporter/loadbalancingexporter/consistent_hashing.go``;
``tests/gateway/test_scale_out.py`` checks this implementation against that file's test vectors.)
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Sequence

MAX_POSITIONS = 36_000
WEIGHT = 100


def positions_for(endpoint: str, points: int = WEIGHT) -> list[int]:
    return [zlib.crc32(endpoint.encode() + bytes([i % 256])) % MAX_POSITIONS for i in range(points)]


class TraceIdRing:
    """Which endpoint the collector sends a trace to."""

    def __init__(self, endpoints: Sequence[str], weight: int = WEIGHT) -> None:
        taken: dict[int, str] = {}
        for endpoint in sorted(endpoints):  # the static and DNS resolvers sort what they resolve
            for position in positions_for(endpoint, weight):
                taken.setdefault(position, endpoint)
        self.items = sorted(taken.items())
        self._positions = [position for position, _ in self.items]

    def endpoint_for(self, key: bytes) -> str:
        position = zlib.crc32(key) % MAX_POSITIONS
        index = bisect.bisect_left(self._positions, position)
        return self.items[index % len(self.items)][1]

    def endpoint_for_trace(self, trace_id: int) -> str:
        return self.endpoint_for(trace_id.to_bytes(16, "big"))
