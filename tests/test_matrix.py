"""``goalctl matrix`` and ``--shard i/n``: one CI job per scenario, or stable shares of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import goalctl.matrix
from goalctl.errors import ScenarioError, UsageError
from goalctl.matrix import (
    format_matrix,
    matrix,
    parse_shard,
    parse_shards,
    shard,
    shard_of,
    shard_scenarios,
)
from goalctl.validation import validate_paths
from tests.conftest import FIXTURES, REPO, run_cli

EXAMPLES = [
    {
        "scenario": "scenarios/calculator.md",
        "id": "calculator",
        "name": "Calculator",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/coding-fizzbuzz.md",
        "id": "coding-fizzbuzz",
        "name": "A coding task: fizzbuzz",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/data_collector.md",
        "id": "data-collector",
        "name": "Data Collector",
        "version": "0.1.0",
    },
    {
        "scenario": "scenarios/email_sender_v1.yaml",
        "id": "email-sender",
        "name": "Email Sender",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/email_sender_v2.md",
        "id": "email-sender",
        "name": "Email Sender",
        "version": "2.0.0",
    },
    {
        "scenario": "scenarios/faq-v1.md",
        "id": "faq",
        "name": "Store FAQ",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/faq-v2.md",
        "id": "faq",
        "name": "Store FAQ",
        "version": "2.0.0",
    },
    {
        "scenario": "scenarios/order-status-anthropic.md",
        "id": "order-status-anthropic",
        "name": "Order status, answered by a Claude tool agent",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/order-status-openai.md",
        "id": "order-status-openai",
        "name": "Order status, answered by an OpenAI tool agent",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/refund-policy-python.md",
        "id": "refund-policy-python",
        "name": "Refund policy, answered by a Python function",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/refund-support-tools.md",
        "id": "refund-support-tools",
        "name": "Refunds, with tools",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/review-sentiment-trials.md",
        "id": "review-sentiment",
        "name": "Review sentiment",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/sales_lead_qualifier.md",
        "id": "qualify-leads",
        "name": "Sales Lead Qualifier",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/support-reply-http.md",
        "id": "support-reply-http",
        "name": "Support replies, drafted by a service",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/support-triage.md",
        "id": "support-triage",
        "name": "Support triage",
        "version": "0.1.0",
    },
    {
        "scenario": "scenarios/table-booking-turns.md",
        "id": "table-booking-turns",
        "name": "Table bookings, over a conversation",
        "version": "1.0.0",
    },
    {
        "scenario": "scenarios/ticket-title-curl.md",
        "id": "ticket-title-curl",
        "name": "Ticket titles, written by a shell script",
        "version": "1.0.0",
    },
]

# Every entry also names its job: unique, and safe in a file or artifact name.
for _entry in EXAMPLES:
    _entry["job"] = f"{_entry['id']}-{_entry['version']}"


def write_goal(directory: Path, file_name: str, goal_id: str, status: str | None = None) -> Path:
    """A small valid YAML scenario; ``status`` omitted means the files' default, ready."""
    lines = [
        f"id: {goal_id}",
        f"name: Goal {goal_id}",
        "description: A goal for the matrix tests",
        "provider: scripted",
        "success_criteria:",
        "  - {id: says-hi, description: Says hi, metric: output_contains, target: hi}",
        "responses: [hi]",
    ]
    if status is not None:
        lines.append(f"status: {status}")
    path = directory / file_name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestMatrix:
    def test_every_example_sorted_by_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        assert matrix(["scenarios"]) == {"include": EXAMPLES}

    def test_paths_are_kept_as_given_and_sorted_across_arguments(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(REPO)
        data = matrix(["scenarios/support-triage.md", "./scenarios/calculator.md"])
        assert [entry["scenario"] for entry in data["include"]] == [
            "scenarios/calculator.md",
            "scenarios/support-triage.md",
        ]

    def test_one_line_of_json_for_github_output(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        text = format_matrix(matrix(["scenarios"]))
        assert "\n" not in text
        assert text.startswith('{"include":[{"scenario":"scenarios/calculator.md","id":')
        assert json.loads(text) == {"include": EXAMPLES}

    def test_an_invalid_file_raises_with_every_problem(self) -> None:
        bad = FIXTURES / "scenarios" / "invalid" / "bad_config.yaml"
        with pytest.raises(ScenarioError) as info:
            matrix([str(bad)])
        assert list(info.value.problems) == validate_paths([bad]).problems
        assert len(info.value.problems) == 3

    def test_an_invalid_file_among_valid_ones_still_raises(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "good.yaml", "good")
        (tmp_path / "broken.yaml").write_text("id: [\n", encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            matrix([str(tmp_path)])
        assert [Path(p.path).name for p in info.value.problems] == ["broken.yaml"]

    def test_a_missing_path_is_a_usage_error(self) -> None:
        with pytest.raises(UsageError, match="no such file or directory: no/such/dir"):
            matrix(["no/such/dir"])

    def test_drafts_and_suspended_goals_are_left_out(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "a.yaml", "ready-one")
        write_goal(tmp_path, "b.yaml", "draft-one", "draft")
        write_goal(tmp_path, "c.yaml", "suspended-one", "suspended")
        ids = [entry["id"] for entry in matrix([str(tmp_path)])["include"]]
        assert ids == ["ready-one"]

    def test_drafts_are_included_on_request(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "a.yaml", "ready-one")
        write_goal(tmp_path, "b.yaml", "draft-one", "draft")
        write_goal(tmp_path, "c.yaml", "suspended-one", "suspended")
        data = matrix([str(tmp_path)], include_drafts=True)
        assert data == {
            "include": [
                {
                    "scenario": (tmp_path / name).as_posix(),
                    "id": goal_id,
                    "name": f"Goal {goal_id}",
                    "version": "1.0.0",
                    "job": f"{goal_id}-1.0.0",
                }
                for name, goal_id in [
                    ("a.yaml", "ready-one"),
                    ("b.yaml", "draft-one"),
                    ("c.yaml", "suspended-one"),
                ]
            ]
        }

    def test_only_drafts_make_an_empty_matrix(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "a.yaml", "draft-one", "draft")
        assert matrix([str(tmp_path)]) == {"include": []}

    def test_more_jobs_than_github_allows_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        monkeypatch.setattr(goalctl.matrix, "MAX_MATRIX_JOBS", 5)
        with pytest.raises(UsageError) as info:
            matrix(["scenarios"])
        assert str(info.value) == (
            f"the matrix would have {len(EXAMPLES)} jobs; GitHub Actions allows at most 5 "
            "(use `goalctl matrix --shards auto` with `goalctl run --shard I/N`, or give fewer paths)"
        )


class TestShardedMatrix:
    def test_one_entry_per_non_empty_shard_with_its_count(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(REPO)
        scenarios = validate_paths(["scenarios"]).scenarios
        entries = matrix(["scenarios"], shards=3)["include"]
        expected = [
            {
                "shard": f"{index}/3",
                "job": f"shard-{index}-of-3",
                "name": f"shard {index}/3",
                "scenarios": len(shard_scenarios(scenarios, index, 3)),
            }
            for index in range(1, 4)
            if shard_scenarios(scenarios, index, 3)
        ]
        assert entries == expected
        assert sum(entry["scenarios"] for entry in entries) == len(EXAMPLES)

    def test_empty_shards_get_no_job(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "a.yaml", "only-one")
        [entry] = matrix([str(tmp_path)], shards=50)["include"]
        assert entry["scenarios"] == 1
        assert entry["shard"] == f"{shard_of('only-one@1.0.0', 50)}/50"

    def test_auto_keeps_one_job_per_scenario_under_the_limit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(REPO)
        assert matrix(["scenarios"], shards="auto") == {"include": EXAMPLES}

    def test_auto_shards_past_the_limit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        monkeypatch.setattr(goalctl.matrix, "MAX_MATRIX_JOBS", 5)
        entries = matrix(["scenarios"], shards="auto")["include"]
        assert 1 <= len(entries) <= 5
        assert {entry["shard"].split("/")[1] for entry in entries} == {"5"}
        assert sum(entry["scenarios"] for entry in entries) == len(EXAMPLES)

    def test_drafts_are_not_counted(self, tmp_path: Path) -> None:
        write_goal(tmp_path, "a.yaml", "ready-one")
        write_goal(tmp_path, "b.yaml", "draft-one", "draft")
        [entry] = matrix([str(tmp_path)], shards=1)["include"]
        assert entry == {"shard": "1/1", "job": "shard-1-of-1", "name": "shard 1/1", "scenarios": 1}

    def test_no_scenarios_no_shards(self, tmp_path: Path) -> None:
        assert matrix([str(tmp_path)], shards=4) == {"include": []}

    @pytest.mark.parametrize(("text", "expected"), [("auto", "auto"), ("1", 1), ("256", 256)])
    def test_parse_shards(self, text: str, expected: object) -> None:
        assert parse_shards(text) == expected

    @pytest.mark.parametrize("text", ["0", "257", "-1", "two", "", "1/2"])
    def test_parse_shards_refuses(self, text: str) -> None:
        with pytest.raises(UsageError) as info:
            parse_shards(text)
        assert str(info.value) == f"invalid --shards {text!r} (use auto or a number from 1 to 256)"

    def test_cli_prints_the_sharded_matrix_and_refuses_bad_counts(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(REPO)
        result = run_cli("matrix", "--shards", "2", "scenarios")
        assert (result.exit_code, result.stderr) == (0, "")
        assert json.loads(result.stdout) == matrix(["scenarios"], shards=2)
        result = run_cli("matrix", "--shards", "0", "scenarios")
        assert result.exit_code == 2
        assert "invalid --shards '0'" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/1", (1, 1)),
        ("2/3", (2, 3)),
        ("4/4", (4, 4)),
        ("10/12", (10, 12)),
        (" 2 / 3 ", (2, 3)),
        ("01/04", (1, 4)),
    ],
)
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "1", "0/3", "4/3", "1/0", "0/0", "-1/2", "1/-2", "a/b", "1/2/3", "1.5/2", "/2", "1/",
     "１/２", "1\\2", "1 2"],
)  # fmt: skip
def test_parse_shard_refuses(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_shard(text)
    assert str(info.value) == f"invalid --shard {text!r} (use I/N, e.g. 1/4)"


def test_parse_shard_message_reads_like_the_option() -> None:
    with pytest.raises(UsageError) as info:
        parse_shard("5/4")
    assert str(info.value) == "invalid --shard '5/4' (use I/N, e.g. 1/4)"


ITEMS = [f"scenarios/goal-{n:03}.md" for n in range(300)]


def identity(text: str) -> str:
    return text


class TestShard:
    @pytest.mark.parametrize("total", range(1, 8))
    def test_shards_are_disjoint_complete_and_ordered(self, total: int) -> None:
        shards = [shard(ITEMS, identity, index, total) for index in range(1, total + 1)]
        seen = [item for part in shards for item in part]
        assert sorted(seen) == sorted(ITEMS)
        assert len(seen) == len(set(seen))
        for part in shards:
            members = set(part)
            assert part == [item for item in ITEMS if item in members]

    @pytest.mark.parametrize("total", range(1, 8))
    def test_shards_are_roughly_even(self, total: int) -> None:
        sizes = [len(shard(ITEMS, identity, index, total)) for index in range(1, total + 1)]
        assert min(sizes) >= len(ITEMS) / total * 0.6

    @pytest.mark.parametrize("total", range(1, 8))
    def test_adding_items_never_moves_the_others(self, total: int) -> None:
        before = {
            item: index
            for index in range(1, total + 1)
            for item in shard(ITEMS[:200], identity, index, total)
        }
        after = {
            item: index
            for index in range(1, total + 1)
            for item in shard(ITEMS, identity, index, total)
        }
        assert {item: after[item] for item in before} == before

    @pytest.mark.parametrize("total", range(1, 8))
    def test_input_order_is_kept_whatever_it_is(self, total: int) -> None:
        backwards = ITEMS[::-1]
        for index in range(1, total + 1):
            assert (
                shard(backwards, identity, index, total)
                == (shard(ITEMS, identity, index, total)[::-1])
            )

    def test_one_shard_is_everything(self) -> None:
        assert shard(ITEMS, identity, 1, 1) == ITEMS

    def test_the_share_depends_on_the_key(self) -> None:
        items = [("b", 2), ("a", 1), ("c", 3)]
        chosen = shard(items, lambda item: item[0], shard_of("a", 2), 2)
        assert ("a", 1) in chosen
        assert chosen == [item for item in items if shard_of(item[0], 2) == shard_of("a", 2)]

    def test_the_hash_is_pinned(self) -> None:
        # A new hash would reshuffle every sharded suite: make that a decision, not an accident.
        pinned = [shard_of(f"scenarios/goal-{n:03}.md", 4) for n in range(8)]
        assert pinned == [4, 3, 3, 3, 4, 2, 4, 4]

    @pytest.mark.parametrize(("index", "total"), [(0, 3), (4, 3), (1, 0)])
    def test_a_shard_that_does_not_exist(self, index: int, total: int) -> None:
        with pytest.raises(ValueError, match=f"shard {index}/{total} does not exist"):
            shard(ITEMS, identity, index, total)

    @pytest.mark.parametrize("total", range(1, 8))
    def test_scenarios_split_by_goal_id_and_version(
        self, total: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(REPO)
        scenarios = validate_paths(["scenarios"]).scenarios
        shares = [shard_scenarios(scenarios, index, total) for index in range(1, total + 1)]
        paths = [s.path for share in shares for s in share]
        assert sorted(paths) == sorted(s.path for s in scenarios)
        assert len(paths) == len(set(paths))
        # The key ignores how the path was written: ./scenarios or an absolute path.
        absolute = validate_paths([str(REPO / "scenarios")]).scenarios
        assert [
            [s.path.name for s in shard_scenarios(absolute, index, total)]
            for index in range(1, total + 1)
        ] == [[s.path.name for s in share] for share in shares]
