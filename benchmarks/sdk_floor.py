"""The SDK alone: ``requests`` Messages API calls through one ``AsyncAnthropic`` client, at
most ``concurrency`` in flight, as a team's own script would send them (the live benchmark's
second floor: what the SDK costs per call on this machine, before goalctl does anything).

Usage: ``python benchmarks/sdk_floor.py REQUESTS CONCURRENCY`` with ``ANTHROPIC_BASE_URL``
and ``ANTHROPIC_API_KEY`` set.
"""

from __future__ import annotations

import asyncio
import sys

import anthropic


async def send(requests: int, concurrency: int) -> None:
    client = anthropic.AsyncAnthropic()
    slots = asyncio.Semaphore(concurrency)

    async def one(number: int) -> str:
        async with slots:
            message = await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                messages=[{"role": "user", "content": f"Repeat this number: {number}"}],
            )
        block = message.content[0]
        return block.text if block.type == "text" else ""

    try:
        replies = await asyncio.gather(*(one(n) for n in range(requests)))
    finally:
        await client.close()
    if len(replies) != requests:
        raise SystemExit(f"{len(replies)} replies to {requests} requests")


if __name__ == "__main__":
    asyncio.run(send(int(sys.argv[1]), int(sys.argv[2])))
