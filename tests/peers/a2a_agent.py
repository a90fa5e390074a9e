"""A remote A2A agent for conclave's tests, built on the official Python SDK (PyPI `a2a-sdk`).

Usage: python a2a_agent.py PORT_FILE LOG_FILE [--v03-only] [--token TOKEN] [--no-stream]
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, and appends one JSON line per
request (method, A2A-Version and Authorization headers, the request's text) to LOG_FILE.

What it answers (deterministic, from the last user text it was sent):
- a vote request (asks for `VOTE: <agree|…`) -> "VOTE: agree: the remote agrees"
- text containing "ASK ME"                     -> input-required "Which colour?", then on the
                                                  follow-up "You chose <answer>"
- text containing "PLEASE FAIL"                -> failed, reason "remote broke"
- text containing "PLEASE REJECT"              -> rejected, reason "not my field"
- text containing "PLEASE CANCEL"              -> streams "Partly" then cancels the task itself,
                                                  reason "stopped by its owner"
- text containing "GO SLOW"                    -> streams "slow" then waits 30 s (cancel tests)
- anything else                                -> streams "Hel" + "lo from remote" (two artifact
                                                  chunks: joined without separators)
"""

import asyncio
import json
import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse

from a2a.helpers.proto_helpers import new_text_message, new_text_part, new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor
from a2a.server.request_handlers.default_request_handler_v2 import DefaultRequestHandlerV2
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Role,
    TaskState,
)

args = sys.argv[1:]
PORT_FILE, LOG_FILE = args[0], args[1]
V03_ONLY = "--v03-only" in args
STREAMING = "--no-stream" not in args
TOKEN = args[args.index("--token") + 1] if "--token" in args else None


def log(entry):
    with open(LOG_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Remote(AgentExecutor):
    async def execute(self, context, event_queue):
        text = context.get_user_input()
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        up = TaskUpdater(event_queue, task.id, task.context_id)
        log({"event": "execute", "text": text, "task": task.id})
        history = " ".join(p.text for m in task.history for p in m.parts)
        if "VOTE: <agree" in text:
            await up.add_artifact([new_text_part("VOTE: agree: the remote agrees")])
            await up.complete()
        elif "ASK ME" in history and "ASK ME" not in text:
            await up.add_artifact([new_text_part(f"You chose {text.strip()}")])
            await up.complete()
        elif "ASK ME" in text:
            await up.requires_input(
                new_text_message("Which colour?", role=Role.ROLE_AGENT,
                                 task_id=task.id, context_id=task.context_id))
        elif "PLEASE REJECT" in text:
            await up.reject(
                new_text_message("not my field", role=Role.ROLE_AGENT,
                                 task_id=task.id, context_id=task.context_id))
        elif "PLEASE CANCEL" in text:
            await up.start_work()
            await up.add_artifact([new_text_part("Partly")], artifact_id="a1")
            await asyncio.sleep(0.05)
            await up.cancel(
                new_text_message("stopped by its owner", role=Role.ROLE_AGENT,
                                 task_id=task.id, context_id=task.context_id))
        elif "PLEASE FAIL" in text:
            await up.failed(
                new_text_message("remote broke", role=Role.ROLE_AGENT,
                                 task_id=task.id, context_id=task.context_id))
        elif "GO SLOW" in text:
            await up.start_work()
            await up.add_artifact([new_text_part("slow")], artifact_id="a1")
            await asyncio.sleep(30)
            await up.complete()
        else:
            await up.start_work()
            await up.add_artifact([new_text_part("Hel")], artifact_id="a1")
            await asyncio.sleep(0.05)
            await up.add_artifact([new_text_part("lo from remote")], artifact_id="a1",
                                  append=True, last_chunk=True)
            await up.complete()

    async def cancel(self, context, event_queue):
        log({"event": "cancel", "task": context.task_id})
        up = TaskUpdater(event_queue, context.task_id, context.context_id)
        await up.cancel()


class Recorder(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        if request.method == "POST":
            body = await request.body()
            try:
                method = json.loads(body).get("method")
            except ValueError:
                method = None
            log({"event": "request", "method": method,
                 "version": request.headers.get("a2a-version"),
                 "auth": request.headers.get("authorization")})
            if TOKEN and request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    version = "0.3" if V03_ONLY else "1.0"
    card = AgentCard(
        name="Remote Researcher",
        description="A test agent built on a2a-sdk",
        version="1.0.0",
        supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC",
                                             protocol_version=version)],
        capabilities=AgentCapabilities(streaming=STREAMING),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="research", name="research", description="looks things up",
                           tags=["search"]),
                AgentSkill(id="summarise", name="summarise", description="writes summaries",
                           tags=["text"])],
    )
    handler = DefaultRequestHandlerV2(agent_executor=Remote(), task_store=InMemoryTaskStore(),
                                      agent_card=card)
    routes = create_agent_card_routes(card) + create_jsonrpc_routes(
        handler, "/", enable_v0_3_compat=True)
    app = Starlette(routes=routes)
    app.add_middleware(Recorder)
    config = uvicorn.Config(app, log_level="warning")
    server = uvicorn.Server(config)

    async def serve():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.02)
        with open(PORT_FILE + ".tmp", "w", encoding="utf-8") as f:
            f.write(str(port))
        import os
        os.replace(PORT_FILE + ".tmp", PORT_FILE)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
