"""The OpenAI Agents SDK side of benches/orchestration.rs: the same 4-agent round-robin group chat,
the same number of rounds and sessions, against the same instant OpenAI-compatible server.

The SDK has no group chat; the nearest is what its docs show for multi-agent conversations: each
agent run in turn with `Runner.run` on the conversation so far (its own earlier replies as
assistant messages, everyone else's as user messages prefixed with the speaker's name, as conclave
sends them). Chat Completions through `OpenAIChatCompletionsModel` (the server speaks only that),
tracing off (it would upload to OpenAI).

Prints one JSON line: {"turns": N, "cpu_s": S, "wall_s": W}. CPU is time.process_time() around
the measured sessions only; imports and one warm-up session are not counted.
Needs the pins of benches/peers/requirements.txt (benches/peers/compare.sh installs them).
    python benches/peers/agents_sdk_groupchat.py --base-url http://127.0.0.1:PORT/v1
"""

import harness

from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

# Traces would be uploaded to OpenAI.
set_tracing_disabled(True)

AGENTS = ["optimist", "skeptic", "pragmatist", "moderator"]
TASK = "Should we rewrite the billing service in Rust?"


async def one_session(base_url: str, rounds: int) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
    agents = [
        Agent(
            name=name,
            instructions=f"You are the {name} in a design review. Answer in one sentence.",
            model=model,
        )
        for name in AGENTS
    ]
    said: list[tuple[str, str]] = []
    turns = 0
    for _ in range(rounds):
        for agent in agents:
            history = [{"role": "user", "content": f"[user]: {TASK}"}]
            for who, text in said:
                if who == agent.name:
                    history.append({"role": "assistant", "content": text})
                else:
                    history.append({"role": "user", "content": f"[{who}]: {text}"})
            result = await Runner.run(agent, input=history)
            said.append((agent.name, str(result.final_output)))
            turns += 1
    await client.close()
    return turns


if __name__ == "__main__":
    harness.run(one_session)
