#!/usr/bin/env python3
"""Whole-process measurements of the release binary, as a person runs it (by hand, never in CI).

The Rust benches measure the library in-process; this script measures `conclave` processes from
outside, the way issue 14 measured them, against its own fake OpenAI-compatible server (a thread
of this script: HTTP/1.1 keep-alive, SSE one event per word, paced at --rate words/s or at once).
CPU is the measured process's user + system time: getrusage(RUSAGE_CHILDREN) around a process that
exits, /proc/PID/stat for one that stays (a console in a pseudo-terminal).

    python3 benches/cli.py cold [--runs 100] [--against OTHER_BINARY] [--perf]
                                                        a whole `conclave run` of one turn
    python3 benches/cli.py history [--at 40 400 4000]   CPU per turn around N messages (group chat)
    python3 benches/cli.py stream --agents 8 --words 2000 [--rate 200]
                                                        the console streaming (scripted backend)
    python3 benches/cli.py aichat --aichat PATH [--words 2000 --rate 200]
                                                        one agent, same stream: conclave vs aichat
    python3 benches/cli.py peers [--python PY] [--sessions 20 --rounds 10 --chain 8]
                                                        the group chat and the handoff chain in
                                                        conclave, AutoGen and the Agents SDK (makes
                                                        target/bench-peers/venv unless --python)

`--exe` names the binary (default target/release/conclave: build it with `cargo build --release`).
"""

import argparse
import json
import os
import pty
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENTENCE = "I think we should weigh the costs against the benefits before deciding."
AGENTS = ["optimist", "skeptic", "pragmatist", "moderator"]
TICK = os.sysconf("SC_CLK_TCK")


# --- the fake server ----------------------------------------------------------------------------

class Server:
    """Answers every POST with `words` generated words (0: `pointN: <SENTENCE>`), streamed as SSE
    when asked to stream, at `rate` words/s (0: at once)."""

    def __init__(self, words=0, rate=0.0):
        self.words, self.rate, self.count = words, rate, 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _text(self):
        n, self.count = self.count, self.count + 1
        if self.words == 0:
            return f"point{n}: {SENTENCE}"
        return " ".join([f"w{i:04d}" for i in range(1, self.words)] + [f"zzend{n}zz"])

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    got = conn.recv(65536)
                    if not got:
                        return
                    buf += got
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").lower().split("\r\n"):
                    if line.startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                while len(buf) < length:
                    got = conn.recv(max(65536, length - len(buf)))
                    if not got:
                        return
                    buf += got
                body, buf = buf[:length], buf[length:]
                stream = b'"stream":true' in body or b'"stream": true' in body
                transfer = self._transfer(body)
                if transfer:
                    self._call(conn, stream, transfer)
                else:
                    self._answer(conn, stream, self._text())
        except OSError:
            return
        finally:
            conn.close()

    @staticmethod
    def _transfer(body):
        """The first `transfer_to_*` tool the request offers (a handoff chain's next hop), if any."""
        if b"transfer_to_" not in body:
            return None
        for tool in json.loads(body).get("tools") or []:
            name = (tool.get("function") or {}).get("name", "")
            if name.startswith("transfer_to_"):
                return name
        return None

    def _call(self, conn, stream, name):
        """Answer with one call of the tool `name` (a handoff), streamed or not as asked."""
        args = json.dumps({"reason": "the next specialist takes it from here"})
        call = {"id": f"call_{self.count}", "type": "function", "function": {"name": name, "arguments": args}}
        self.count += 1
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        head = {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o"}
        if not stream:
            body = json.dumps(dict(head, choices=[{
                "index": 0, "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
                usage=usage)).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            return
        head["object"] = "chat.completion.chunk"
        first = dict(call, index=0, function={"name": name, "arguments": ""})
        chunks = [
            dict(head, choices=[{"index": 0, "delta": {"role": "assistant", "tool_calls": [first]},
                                 "finish_reason": None}]),
            dict(head, choices=[{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": args}}]}, "finish_reason": None}]),
            dict(head, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
            dict(head, choices=[], usage=usage),
        ]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)

    def _answer(self, conn, stream, text):
        words = text.split()
        if not stream:
            body = json.dumps({
                "id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": len(words),
                          "total_tokens": 100 + len(words)}}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            return
        pieces = []
        for i, w in enumerate(words):
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
                     "choices": [{"index": 0, "delta": {"role": "assistant",
                                  "content": w if i == 0 else " " + w}, "finish_reason": None}]}
            pieces.append(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
                 "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": len(words),
                                          "total_tokens": 100 + len(words)}}
        pieces.append(f"data: {json.dumps(end)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
                     + str(sum(map(len, pieces))).encode() + b"\r\n\r\n")
        if self.rate <= 0:
            conn.sendall(b"".join(pieces))
            return
        start = time.monotonic()
        for k, p in enumerate(pieces):
            delay = start + k / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            conn.sendall(p)


# --- helpers ------------------------------------------------------------------------------------

def children_cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000.0


def proc_cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def http_config(d, url, team):
    return write(os.path.join(d, "config.toml"),
                 f'[backends.local]\nkind = "openai"\nbase_url = "{url}"\nmax_retries = 0\n\n{team}')


def run(exe, args, env):
    before = children_cpu_ms()
    r = subprocess.run([exe] + args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit(f"{exe} {' '.join(args)} exited with {r.returncode}")
    return children_cpu_ms() - before


class Term:
    """A program in a pseudo-terminal; its output is drained by a thread and kept."""

    def __init__(self, argv, env, cols=200, rows=60):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            import fcntl
            import struct
            import termios
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.out = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.5)
                if r:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    # Line editors (aichat's reedline) ask where the cursor is and wait for it.
                    for _ in range(data.count(b"\x1b[6n")):
                        os.write(self.fd, b"\x1b[1;1R")
                    with self.lock:
                        self.out += data
            except OSError:
                return

    def wait_for(self, needle, start=0, limit=300.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            with self.lock:
                if needle.encode() in self.out[start:]:
                    return
            time.sleep(0.002)
        sys.exit(f"{needle!r} never appeared; output ends with {bytes(self.out[-400:])!r}")

    def mark(self):
        with self.lock:
            return len(self.out)

    def type(self, text):
        os.write(self.fd, text.encode())
        time.sleep(0.05)
        os.write(self.fd, b"\r")

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def console_env(d):
    return dict(os.environ, CONCLAVE_DATA_DIR=os.path.join(d, "data"), NO_COLOR="1", TERM="xterm-256color")


# --- measurements -------------------------------------------------------------------------------

def cold(a):
    server = Server()
    with tempfile.TemporaryDirectory() as d:
        cfg = http_config(d, server.url, '[teams.solo]\npattern = "single"\nmembers = ["solo"]\n\n'
                          '[agents.solo]\nbackend = "local"\nmodel = "gpt-4o"\nsystem = "Answer in one sentence."\n')
        env = dict(os.environ, CONCLAVE_DATA_DIR=os.path.join(d, "data"))
        env.pop("CONCLAVE_LOG", None)
        args = ["run", "--config", cfg, "--team", "solo", "--prompt", "Say something.", "--events", "jsonl"]
        exes = [a.exe] + ([a.against] if a.against else [])
        cpu = {exe: [] for exe in exes}
        task_clock = {exe: [] for exe in exes}
        for exe in exes:
            run(exe, args, env)
        for _ in range(a.runs):
            for exe in exes:  # alternated, so both see the same load
                cpu[exe].append(run(exe, args, env))
                if a.perf:
                    task_clock[exe].append(perf_run(exe, args, env))
        print(f"a whole `conclave run` of one turn (http:// loopback), {a.runs} runs (budget: under 3 ms)")
        for exe in exes:
            c = sorted(cpu[exe])
            print(f"  {exe}: CPU (getrusage) median {statistics.median(c):.2f} ms, p10 {c[len(c) // 10]:.2f}, "
                  f"p90 {c[len(c) * 9 // 10]:.2f}")
            if a.perf:
                t = sorted(task_clock[exe])
                print(f"  {exe}: task-clock (perf stat) median {statistics.median(t):.2f} ms, "
                      f"p10 {t[len(t) // 10]:.2f}, p90 {t[len(t) * 9 // 10]:.2f}")
        if a.against:
            print(f"  ratio {statistics.median(cpu[a.exe]) / statistics.median(cpu[a.against]):.2f}")


def perf_run(exe, args, env):
    """The task-clock of one run as `perf stat` counts it: from the exec of the binary to its exit,
    all its threads (getrusage also counts the exec itself, made from this script's fork)."""
    r = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "--", exe] + args, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"perf stat {exe} exited with {r.returncode}: {r.stderr[-400:]}")
    for line in r.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("task-clock"):
            return float(fields[0])
    sys.exit(f"perf stat printed no task-clock: {r.stderr[-400:]}")


def chat_config(d, url, rounds):
    team = f'[teams.chat]\npattern = "group_chat"\nmembers = {json.dumps(AGENTS)}\nmax_rounds = {rounds}\n\n'
    for agent in AGENTS:
        team += (f'[agents.{agent}]\nbackend = "local"\nmodel = "gpt-4o"\n'
                 f'system = "You are the {agent} in a design review. Answer in one sentence."\n\n')
    return http_config(d, url, team)


def team_cpu(a, d, cfg, team, prompt):
    """CPU of one whole `conclave run` of `team` in config `cfg`."""
    env = dict(os.environ, CONCLAVE_DATA_DIR=os.path.join(d, "data"))
    return run(a.exe, ["run", "--config", cfg, "--team", team, "--prompt", prompt, "--events", "jsonl"], env)


def chat_cpu(a, url, d, rounds):
    return team_cpu(a, d, chat_config(d, url, rounds), "chat", "Should we rewrite the billing service in Rust?")


def history(a):
    server = Server()
    print("CPU per turn of a 4-agent group chat over HTTP, around N messages of history "
          "(whole `conclave run` processes, rounds r1 and r2, (cpu2 - cpu1) / (turns2 - turns1))")
    with tempfile.TemporaryDirectory() as d:
        for n in a.at:
            r1, r2 = (n - n // 10) // 4, (n + n // 10) // 4
            reps = max(1, 400 // (4 * (r2 - r1)))
            diffs = []
            for _ in range(reps):
                diffs.append(chat_cpu(a, server.url, d, r2) - chat_cpu(a, server.url, d, r1))
            per = statistics.median(diffs) / (4 * (r2 - r1))
            print(f"  around {n:>5} messages: {per:.4f} ms per turn (median of {reps} pairs)")
    print("budget: under 0.2 ms at 40 messages, under 0.3 ms at 400")


def stream(a):
    with tempfile.TemporaryDirectory() as d:
        words = lambda tag: " ".join(f"{tag}w{i:04d}" for i in range(a.words - 1))
        script = ""
        for k in range(1, a.agents + 1):
            for t in range(a.tasks):
                script += f'[[reply]]\ncharacter = "a{k}"\ntext = "{words(f"a{k}")} zzend{k}t{t}zz"\n\n'
        path = write(os.path.join(d, "s.toml"), script)
        members = [f"a{k}" for k in range(1, a.agents + 1)]
        cfg = (f'[backends.s]\nkind = "scripted"\nscript = "{path}"\ntokens_per_sec = {a.rate}\n\n'
               f'[teams.stream]\npattern = "concurrent"\nmembers = {json.dumps(members)}\n\n')
        for m in members:
            cfg += f'[agents.{m}]\nbackend = "s"\nmodel = "{m}"\n\n'
        cfg = write(os.path.join(d, "c.toml"), cfg)
        term = Term([a.exe, "--config", cfg, "--team", "stream"], console_env(d))
        term.wait_for("team stream")
        time.sleep(1.0)
        cpu = wall = 0.0
        for t in range(a.tasks):
            mark, c0, t0 = term.mark(), proc_cpu_ms(term.pid), time.monotonic()
            term.type(f"task {t}: everyone, stream")
            for k in range(1, a.agents + 1):
                term.wait_for(f"zzend{k}t{t}zz", mark)
            cpu += proc_cpu_ms(term.pid) - c0
            wall += time.monotonic() - t0
        term.stop()
        print(f"console, {a.agents} agent(s) streaming {a.words} words at {a.rate} tok/s (configured), "
              f"{a.tasks} tasks: CPU {cpu / (wall * 10):.1f} % of one core over {wall:.1f} s; "
              f"delivered {a.words * a.tasks / wall:.0f} tok/s per agent")


def one_stream(term, ready):
    term.wait_for(ready)
    time.sleep(1.0)
    mark, c0, t0 = term.mark(), proc_cpu_ms(term.pid), time.monotonic()
    term.type("Tell me a long story")
    term.wait_for("zzend", mark)
    cpu, wall = proc_cpu_ms(term.pid) - c0, time.monotonic() - t0
    term.stop()
    return cpu, wall


def aichat(a):
    server = Server(words=a.words, rate=a.rate)
    with tempfile.TemporaryDirectory() as d:
        cfg = http_config(d, server.url, '[teams.solo]\npattern = "single"\nmembers = ["solo"]\n\n'
                          '[agents.solo]\nbackend = "local"\nmodel = "gpt-4o"\n')
        os.makedirs(os.path.join(d, "aichat"))
        write(os.path.join(d, "aichat", "config.yaml"),
              f"model: local:gpt-4o\nstream: true\nsave: false\nclients:\n  - type: openai-compatible\n"
              f"    name: local\n    api_base: {server.url}\n    api_key: none\n    models:\n      - name: gpt-4o\n")
        rows = []
        for _ in range(a.repeat):
            ours = one_stream(Term([a.exe, "--config", cfg, "--team", "solo"], console_env(d)), "team solo")
            env = dict(console_env(d), AICHAT_CONFIG_DIR=os.path.join(d, "aichat"))
            theirs = one_stream(Term([a.aichat], env), "help")
            rows.append((ours, theirs))
        print(f"one agent streaming {a.words} words at {a.rate:.0f} tok/s from the same server, 200x60 pty:")
        for (oc, ow), (tc, tw) in rows:
            print(f"  conclave console {oc:7.0f} ms CPU over {ow:5.1f} s = {oc / (ow * 10):5.2f} %   "
                  f"aichat REPL {tc:7.0f} ms over {tw:5.1f} s = {tc / (tw * 10):5.2f} %   ratio {oc / tc:.2f}")
        ratio = statistics.median(oc / tc for (oc, _), (tc, _) in rows)
        print(f"conclave / aichat CPU, median of {a.repeat}: {ratio:.2f} (budget: no more than aichat)")


def chain_config(d, url, length):
    names = [f"desk{k}" for k in range(1, length + 1)]
    hops = ", ".join(f'{a} = ["{b}"]' for a, b in zip(names, names[1:]))
    team = (f'[teams.chain]\npattern = "handoff"\nmembers = {json.dumps(names)}\nentry = "desk1"\n'
            f'handoffs = {{ {hops} }}\napproval = "auto"\n\n')
    for name in names:
        team += (f'[agents.{name}]\nbackend = "local"\nmodel = "gpt-4o"\n'
                 f'system = "You are {name} of a support desk. Hand over when it is not yours."\n\n')
    return http_config(d, url, team)


def chain_cpu(a, url, d, length):
    return team_cpu(a, d, chain_config(d, url, length), "chain", "I was charged twice for my subscription this month.")


def peers_python():
    """target/bench-peers/venv with the pins of benches/peers/requirements.txt, made (or remade
    when the pins change) on first use; the same venv benches/peers/compare.sh makes."""
    base = os.path.join(ROOT, "target", "bench-peers")
    venv, stamp = os.path.join(base, "venv"), os.path.join(base, "stamp")
    with open(os.path.join(ROOT, "benches", "peers", "requirements.txt"), "rb") as f:
        import hashlib
        want = hashlib.sha256(f.read()).hexdigest() + "  -\n"
    python = os.path.join(venv, "bin", "python")
    have = open(stamp).read() if os.path.exists(stamp) else ""
    if not os.access(python, os.X_OK) or have != want:
        print(f"making {venv} from benches/peers/requirements.txt", file=sys.stderr)
        subprocess.run(["rm", "-rf", venv], check=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "-r", os.path.join(ROOT, "benches", "peers", "requirements.txt")], check=True)
        write(stamp, want)
    return python


def python_peer(a, url, script, sessions, rounds):
    out = subprocess.run([a.python, os.path.join(ROOT, "benches", "peers", script),
                          "--base-url", url, "--sessions", str(sessions), "--rounds", str(rounds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{script} failed: {out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res["cpu_s"] * 1000 / max(1, res["turns"]), res["turns"]


PEERS = [("AutoGen 0.7.5", "autogen"), ("OpenAI Agents SDK 0.24", "agents_sdk")]


def peers(a):
    a.python = a.python or peers_python()
    server = Server()
    with tempfile.TemporaryDirectory() as d:
        # Whole processes: the marginal cost of the turns past the first round (or the first agent
        # of the chain), start-up and that first round left out as the Python side leaves out its
        # imports and warm-up session.
        chat_cpu(a, server.url, d, a.rounds)
        base = statistics.median(chat_cpu(a, server.url, d, 1) for _ in range(5))
        ours = [chat_cpu(a, server.url, d, a.rounds) for _ in range(a.sessions)]
        per_turn = (statistics.median(ours) - base) / (4 * (a.rounds - 1))
        print(f"4-agent round-robin group chat, {a.rounds} rounds, same server: CPU per turn")
        print(f"  conclave (whole `conclave run` processes, marginal) {per_turn:.4f} ms")
        for name, stem in PEERS:
            theirs, _ = python_peer(a, server.url, f"{stem}_groupchat.py", a.sessions, a.rounds)
            print(f"  {name:<24} {theirs:.4f} ms   = {theirs / per_turn:.0f}x conclave")
        # A chain is a few turns: the chain of one and the whole chain are alternated, many times
        # each, so that both medians see the same load.
        chain_cpu(a, server.url, d, a.chain)
        base, ours = [], []
        for _ in range(5 * a.sessions):
            base.append(chain_cpu(a, server.url, d, 1))
            ours.append(chain_cpu(a, server.url, d, a.chain))
        per_turn = (statistics.median(ours) - statistics.median(base)) / (a.chain - 1)
        print(f"handoff chain of {a.chain} agents (each hands over to the next, the last answers), "
              f"same server: CPU per turn")
        print(f"  conclave (whole `conclave run` processes, marginal) {per_turn:.4f} ms")
        for name, stem in PEERS:
            theirs, turns = python_peer(a, server.url, f"{stem}_handoff.py", a.sessions, a.chain)
            if turns != a.sessions * a.chain:
                sys.exit(f"{stem}_handoff.py made {turns} model calls, not {a.sessions * a.chain}")
            print(f"  {name:<24} {theirs:.4f} ms   = {theirs / per_turn:.0f}x conclave")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exe", default=os.path.join(ROOT, "target", "release", "conclave"))
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("cold")
    s.add_argument("--runs", type=int, default=100)
    s.add_argument("--against", help="another binary, run alternately with --exe")
    s.add_argument("--perf", action="store_true", help="also count each run with `perf stat` (linux-perf)")
    s = sub.add_parser("history")
    s.add_argument("--at", type=int, nargs="+", default=[40, 400, 4000])
    s = sub.add_parser("stream")
    s.add_argument("--agents", type=int, default=8)
    s.add_argument("--words", type=int, default=2000)
    s.add_argument("--rate", type=float, default=260.0)
    s.add_argument("--tasks", type=int, default=1)
    s = sub.add_parser("aichat")
    s.add_argument("--aichat", required=True)
    s.add_argument("--words", type=int, default=2000)
    s.add_argument("--rate", type=float, default=200.0)
    s.add_argument("--repeat", type=int, default=3)
    s = sub.add_parser("peers")
    s.add_argument("--python", help="a Python with benches/peers/requirements.txt (default: the "
                   "script makes target/bench-peers/venv)")
    s.add_argument("--sessions", type=int, default=20)
    s.add_argument("--rounds", type=int, default=10)
    s.add_argument("--chain", type=int, default=8, help="agents in the handoff chain (at most 8, the default max_depth)")
    a = p.parse_args()
    {"cold": cold, "history": history, "stream": stream, "aichat": aichat, "peers": peers}[a.what](a)


if __name__ == "__main__":
    main()
