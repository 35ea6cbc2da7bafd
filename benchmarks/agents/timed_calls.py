"""Time model calls one by one: ``timed_calls.py CALLS WARMUP OUT.json``.

Makes ``WARMUP`` untimed calls (the connection is opened and the SDK's code paths are warm),
then ``CALLS`` timed ones with the anthropic SDK at ``$ANTHROPIC_BASE_URL``, and writes each
call's wall time in seconds to ``OUT.json``. Run by ``bench_agents.py`` both through goalctl's
gateway (as a ``command`` agent) and straight at the loopback server (the floor).
"""

import json
import sys
import time

import anthropic

calls, warmup, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
client = anthropic.Anthropic(max_retries=0)
timings = []
for index in range(warmup + calls):
    started = time.perf_counter()
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=50,
        messages=[{"role": "user", "content": f"Say {index}."}],
    )
    elapsed = time.perf_counter() - started
    if index >= warmup:
        timings.append(elapsed)
with open(out, "w", encoding="utf-8") as file:
    json.dump(timings, file)
print("done")
