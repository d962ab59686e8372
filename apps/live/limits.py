"""Limits of the WebSocket protocol (apps/live/README.md), shared by the consumers and the server.

Clients send only `{"type": "ping"}`; anything near this size is a mistake or an attack. The
ASGI server (uvicorn `ws_max_size`, `weir server web`) closes a connection whose message is
larger with 1009 before the consumer sees it; the consumers check again for servers that don't.
"""

from __future__ import annotations

MAX_FRAME_BYTES = 64 * 1024
CLOSE_TOO_BIG = 1009
"""RFC 6455 "message too big"."""
CLOSE_BAD_DATA = 1003
"""RFC 6455 "unsupported data": a frame that is not a JSON object."""
