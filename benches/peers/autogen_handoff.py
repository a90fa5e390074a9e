"""The AutoGen side of `benches/cli.py peers`' handoff chain: a chain of `--rounds` agents (agent k may
hand over only to agent k+1, the last one answers), one task per session, against the same instant
OpenAI-compatible server as conclave's `handoff` team. AutoGen's handoffs are a `Swarm`: each
`AssistantAgent` gets `handoffs=[next]`, which it offers the model as the tool `transfer_to_<next>`
(the name conclave uses); the server calls the first `transfer_to_*` tool a request offers and
answers in text when there is none. The session ends at the last agent's text message.

Prints one JSON line: {"turns": N, "cpu_s": S, "wall_s": W} (see harness.py; a turn is one model
call: the chain's handoffs and the last answer).
    python benches/peers/autogen_handoff.py --base-url http://127.0.0.1:PORT/v1 --rounds 4
"""

import harness
import warnings

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import TextMessageTermination
from autogen_agentchat.teams import Swarm

from autogen_ext.models.openai import OpenAIChatCompletionClient

warnings.filterwarnings("ignore", message="Resolved model mismatch")

TASK = "I was charged twice for my subscription this month."


async def one_session(base_url: str, length: int) -> int:
    client = OpenAIChatCompletionClient(model="gpt-4o", base_url=base_url, api_key="bench", max_retries=0)
    names = [f"desk{k}" for k in range(1, length + 1)]
    agents = [
        AssistantAgent(
            name,
            model_client=client,
            handoffs=names[k + 1 : k + 2],
            system_message=f"You are {name} of a support desk. Hand over when it is not yours.",
        )
        for k, name in enumerate(names)
    ]
    team = Swarm(agents, termination_condition=TextMessageTermination(source=names[-1]))
    result = await team.run(task=TASK)
    await client.close()
    spoke = [m for m in result.messages if type(m).__name__ in ("HandoffMessage", "TextMessage")]
    return sum(1 for m in spoke if getattr(m, "source", "user") in names)


if __name__ == "__main__":
    harness.run(one_session)
