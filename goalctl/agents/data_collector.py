"""The data-collector agent of the tutorial seed, made real."""

from __future__ import annotations

from goalctl.agents.base import PhasedAgent


class DataCollectorAgent(PhasedAgent):
    """Collects ``item_count`` items from a deterministic source."""

    manifest_resource = "data_collector.yaml"
