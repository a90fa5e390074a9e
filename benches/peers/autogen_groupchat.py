"""The AutoGen side of benches/orchestration.rs: the same 4-agent round-robin group chat, the
same number of rounds and sessions, against the same instant OpenAI-compatible server.

Prints one JSON line: {"turns": N, "cpu_s": S, "wall_s": W}. CPU is time.process_time()
(user + system of this process) around the measured sessions only; imports and one warm-up
session are not counted. Needs the pins of benches/peers/requirements.txt (benches/peers/compare.sh installs them).

Run by the Rust bench when CONCLAVE_BENCH_AUTOGEN names a Python; or by hand:
    python benches/peers/autogen_groupchat.py --base-url http://127.0.0.1:PORT/v1
"""

import harness
import warnings

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient

# The fake server answers as "gpt-4o"; AutoGen warns that it expected a dated model name.
warnings.filterwarnings("ignore", message="Resolved model mismatch")

AGENTS = ["optimist", "skeptic", "pragmatist", "moderator"]
TASK = "Should we rewrite the billing service in Rust?"


async def one_session(base_url: str, rounds: int) -> int:
    client = OpenAIChatCompletionClient(model="gpt-4o", base_url=base_url, api_key="bench", max_retries=0)
    agents = [
        AssistantAgent(
            name,
            model_client=client,
            system_message=f"You are the {name} in a design review. Answer in one sentence.",
        )
        for name in AGENTS
    ]
    # The task itself counts as one message.
    team = RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(len(AGENTS) * rounds + 1))
    result = await team.run(task=TASK)
    await client.close()
    return sum(1 for m in result.messages if getattr(m, "source", "user") in AGENTS)


if __name__ == "__main__":
    harness.run(one_session)
