"""What every peer script of benches/peers shares: the command line (--base-url, --sessions,
--rounds), one unmeasured warm-up session, then the measured sessions, and the one JSON result
line the orchestration bench and benches/cli.py read: {"turns": N, "cpu_s": S, "wall_s": W}.
CPU is time.process_time() (user + system of this process) around the measured sessions only."""

import argparse
import asyncio
import json
import time


def run(one_session) -> None:
    """Run `one_session(base_url, rounds) -> turns` as the command line asks and print the result."""
    asyncio.run(_main(one_session))


async def _main(one_session) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    await one_session(args.base_url, args.rounds)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    turns = 0
    for _ in range(args.sessions):
        turns += await one_session(args.base_url, args.rounds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"turns": turns, "cpu_s": round(cpu, 4), "wall_s": round(wall, 4)}))
