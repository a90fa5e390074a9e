"""An A2A client for conclave's tests, built on the official Python SDK (PyPI `a2a-sdk`).

Usage: python a2a_client.py URL MODE [TOKEN]
Prints one JSON object per line on stdout, for the test to check:
- stream: send "hello" streaming; one line per event ({"kind", "state"?, "text"?, "task"}).
- send:   send "hello" without streaming (the SDK polls nothing: SendMessage blocks); the task.
- cancel: send "go slow" streaming; after the first event cancel the task through the SDK, then
          print the task as GetTask sees it.
- v03:    the same "hello" with the 0.3 method names (raw JSON-RPC over httpx): `message/send`'s
          answer, then each SSE event of `message/stream`.
- card:   the agent card as the SDK resolved it (name and skill names).
A request the server refuses prints {"error": "<exception class>: <message>"} and exits 0.
"""

import asyncio
import json
import sys

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import new_text_message
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    TaskState,
)

URL, MODE = sys.argv[1], sys.argv[2]
TOKEN = sys.argv[3] if len(sys.argv) > 3 else None


def out(obj):
    print(json.dumps(obj), flush=True)


def event_line(ev):
    kind = ev.WhichOneof("payload")
    body = getattr(ev, kind)
    line = {"kind": kind}
    if kind == "task":
        line.update(task=body.id, state=TaskState.Name(body.status.state))
    elif kind == "status_update":
        line.update(task=body.task_id, state=TaskState.Name(body.status.state))
    elif kind == "artifact_update":
        line.update(task=body.task_id, artifact=body.artifact.name,
                    text="".join(p.text for p in body.artifact.parts))
    elif kind == "message":
        line.update(text="".join(p.text for p in body.parts))
    return line


async def main():
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    async with httpx.AsyncClient(timeout=60, headers=headers) as http:
        if MODE == "card":
            card = await A2ACardResolver(http, URL).get_agent_card()
            out({"name": card.name, "skills": [s.name for s in card.skills],
                 "streaming": card.capabilities.streaming})
            return
        if MODE == "v03":
            body = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
                "kind": "message", "messageId": "m1", "role": "user",
                "parts": [{"kind": "text", "text": "hello"}]}}}
            r = await http.post(URL + "/", json=body)
            out(r.json())
            body["method"] = "message/stream"
            async with http.stream("POST", URL + "/", json=body) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        out(json.loads(line[5:]))
            return
        streaming = MODE != "send"
        client = await ClientFactory(ClientConfig(streaming=streaming, httpx_client=http)) \
            .create_from_url(URL)
        text = "go slow" if MODE == "cancel" else "hello"
        request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))
        try:
            async for ev in client.send_message(request):
                line = event_line(ev)
                out(line)
                if MODE == "cancel":
                    task = await client.cancel_task(CancelTaskRequest(id=line["task"]))
                    out({"kind": "cancelled", "state": TaskState.Name(task.status.state)})
                    got = await client.get_task(GetTaskRequest(id=line["task"]))
                    out({"kind": "get", "state": TaskState.Name(got.status.state)})
                    return
        except Exception as e:  # noqa: BLE001 - the test checks which error it was
            out({"error": f"{type(e).__name__}: {e}"})


asyncio.run(main())
