"""The OpenAI Agents SDK side of `benches/cli.py peers`' handoff chain: a chain of `--rounds` agents
(agent k may hand over only to agent k+1, the last one answers), one task per session, against the
same instant OpenAI-compatible server as conclave's `handoff` team. Each `Agent` gets
`handoffs=[next]`, offered to the model as the tool `transfer_to_<next>` (the name conclave uses);
the server calls the first `transfer_to_*` tool a request offers and answers in text when there is
none. Chat Completions through `OpenAIChatCompletionsModel`, tracing off (it would upload to OpenAI).

Prints one JSON line: {"turns": N, "cpu_s": S, "wall_s": W} (see harness.py; a turn is one model
call: the chain's handoffs and the last answer).
    python benches/peers/agents_sdk_handoff.py --base-url http://127.0.0.1:PORT/v1 --rounds 4
"""

import harness

from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

set_tracing_disabled(True)

TASK = "I was charged twice for my subscription this month."


async def one_session(base_url: str, length: int) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
    chain: list[Agent] = []
    for k in range(length, 0, -1):
        name = f"desk{k}"
        chain.insert(0, Agent(
            name=name,
            instructions=f"You are {name} of a support desk. Hand over when it is not yours.",
            model=model,
            handoffs=chain[:1],
        ))
    result = await Runner.run(chain[0], input=TASK, max_turns=length + 2)
    await client.close()
    return len(result.raw_responses)


if __name__ == "__main__":
    harness.run(one_session)
