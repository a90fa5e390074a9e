#!/usr/bin/env bash
# Side by side: the orchestration bench's 4-agent group chat in conclave, AutoGen and the OpenAI
# Agents SDK, against the same instant OpenAI-compatible server, in one run. Makes its own virtual
# environment (target/bench-peers/venv, the pins of benches/peers/requirements.txt; reinstalled when
# they change), then runs `cargo bench --bench orchestration` with both peers switched on. By hand
# only, never in CI. Extra variables pass through (BENCH_SESSIONS, BENCH_ROUNDS).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$PWD/target/bench-peers/venv"
stamp="$PWD/target/bench-peers/stamp"
want="$(sha256sum <benches/peers/requirements.txt)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/peers/requirements.txt
    echo "$want" >"$stamp"
fi
export CONCLAVE_BENCH_AUTOGEN="$venv/bin/python"
export CONCLAVE_BENCH_AGENTS_SDK="$venv/bin/python"
exec cargo bench --bench orchestration
