"""The tutorial seed's data-collector agent, made real.

It collects ``item_count`` items from a deterministic source (seeded, so every run of a
scenario collects the same items). With ``failure_rate`` some collections fail by design; with
``enable_llm`` the model is asked how to recover each failure (a reply containing SKIP skips
the item, anything else is used as recovered data), and to judge the result in the report.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.evaluation import CaseOutput
from goalctl.providers.base import Message


class CollectionError(Exception):
    """A deterministic, injected failure of the source."""


class DataCollectorAgent(PhasedAgent):
    """Collects items in phases; optionally recovers failures with the LLM."""

    manifest_resource = "data_collector.yaml"

    async def initialize(self) -> None:
        self.context.log(
            f"goal: {self.config['goal']}; target: {self.config['item_count']} items; "
            f"seed {self.config['seed']}, failure rate {self.config['failure_rate']}"
        )

    def _collect_one(self, source: random.Random, index: int) -> dict[str, Any]:
        if source.random() < float(self.config["failure_rate"]):
            raise CollectionError(f"source timed out on item {index}")
        return {"id": f"item-{index:04d}", "data": f"sample-{source.randrange(10**6):06d}"}

    async def execute(self, case: CaseRun) -> CaseOutput:
        source = random.Random(f"{self.config['seed']}:{case.index}")
        delay = int(self.config["item_delay_ms"]) / 1000
        items: list[dict[str, Any]] = []
        recovered = skipped = failures = 0
        for index in range(int(self.config["item_count"])):
            if delay:
                await asyncio.sleep(delay)
            try:
                items.append(self._collect_one(source, index))
            except CollectionError as exc:
                failures += 1
                recovery = (
                    await self._recover(case, index, str(exc))
                    if self.config["enable_llm"]
                    else None
                )
                if recovery is None:
                    skipped += 1
                    self.context.log(f"{case.name}: skipped item {index}: {exc}")
                else:
                    recovered += 1
                    items.append({"id": f"item-{index:04d}-recovered", "data": recovery})
        output = {
            "goal": self.config["goal"],
            "target": int(self.config["item_count"]),
            "items_collected": len(items),
            "item_ids": [item["id"] for item in items],
            "recovered": recovered,
            "skipped": skipped,
            "failures": failures,
        }
        return CaseOutput(output, "", 1, None)

    async def _recover(self, case: CaseRun, index: int, error: str) -> str | None:
        prompt = (
            f"Error collecting item {index}: {error}\n"
            f"Goal: {self.config['goal']}\n"
            "Should I skip this item or retry? Reply SKIP or provide alternative data as JSON."
        )
        response = await case.complete(
            [Message("user", prompt)],
            system="You are a data collection assistant. Be concise.",
            max_tokens=100,
            purpose="recovery",
        )
        return None if "SKIP" in response.text.upper() else response.text.strip()

    async def report(self, results: Sequence[Mapping[str, Any]]) -> str | None:
        if not self.config["enable_llm"]:
            return None
        collected = sum(int((r.get("output") or {}).get("items_collected", 0)) for r in results)
        target = int(self.config["item_count"]) * len(results)
        prompt = (
            f"Goal: {self.config['goal']}\nItems collected: {collected}\nTarget: {target}\n"
            "Was the goal achieved? One sentence."
        )
        response = await self.context.complete(
            [Message("user", prompt)], max_tokens=50, purpose="report"
        )
        return response.text.strip()
