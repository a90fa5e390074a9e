"""An MCP server built with the official Python SDK (PyPI `mcp`) over streamable HTTP, for the
conformance tests: `read_note` (annotated read-only) and `write_note` (writes a file). Requests
must carry `Authorization: Bearer $NOTES_TOKEN` when that variable is set.

usage: python mcp_notes_server.py PORT NOTES_DIR   (listens on 127.0.0.1:PORT/mcp)
"""

import os
import sys
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

port = int(sys.argv[1])
notes = Path(sys.argv[2])
server = MCPServer("notes")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def read_note(name: str) -> str:
    """Read the note called name."""
    path = notes / name
    return path.read_text() if path.exists() else f"no note {name}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False))
def write_note(name: str, text: str) -> str:
    """Write text into the note called name."""
    (notes / name).write_text(text)
    return f"wrote {len(text)} bytes to {name}"


app = server.streamable_http_app()
token = os.environ.get("NOTES_TOKEN")


async def guarded(scope, receive, send):
    if token and scope["type"] == "http":
        headers = dict(scope.get("headers") or [])
        if headers.get(b"authorization", b"").decode() != f"Bearer {token}":
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"bad token"})
            return
    await app(scope, receive, send)


uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
