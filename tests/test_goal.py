"""The Goal model: the seed's API and examples, with DESIGN §3's exact semantics."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from goalctl.errors import ExpressionError
from goalctl.goal import (
    Category,
    Constraint,
    ConstraintType,
    Goal,
    GoalStatus,
    Metric,
    SuccessCriterion,
    readiness_issues,
    weighted_success,
)


def calculator_goal() -> Goal:
    """The seed's Calculator Agent example, verbatim in structure."""
    return Goal(
        id="calc-001",
        name="Calculator",
        description="Perform mathematical calculations accurately",
        success_criteria=[
            SuccessCriterion(
                id="accuracy",
                description="Result matches expected mathematical answer",
                metric="output_equals",
                target="expected_result",
                weight=1.0,
            )
        ],
        constraints=[
            Constraint(
                id="no-crash",
                description="Handle invalid inputs gracefully, return 'Error'",
                constraint_type="hard",
                category="safety",
                check="output != exception",
            )
        ],
        required_capabilities=["llm"],
        input_schema={
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
        output_schema={"type": "object", "properties": {"result": {"type": "number"}}},
    )


def sales_goal() -> Goal:
    """The seed's Sales Lead Qualifier example."""
    return Goal(
        id="qualify-leads-001",
        name="Sales Lead Qualifier",
        description="Qualify incoming sales leads based on budget, timeline, and fit",
        success_criteria=[
            SuccessCriterion(
                id="qualification-accuracy",
                description="Correctly identify qualified vs unqualified leads",
                metric="llm_judge",
                target=0.9,
                weight=1.0,
            ),
            SuccessCriterion(
                id="response-time",
                description="Qualify leads within 5 minutes",
                metric="custom",
                target=300,
                weight=0.5,
            ),
        ],
        constraints=[
            Constraint(
                id="budget-threshold",
                description="Only qualify leads with >$10k budget",
                constraint_type="hard",
                category="scope",
                check="budget >= 10000",
            ),
            Constraint(
                id="no-spam",
                description="Don't contact leads more than once",
                constraint_type="hard",
                category="safety",
            ),
            Constraint(
                id="professional-tone",
                description="Maintain professional communication",
                constraint_type="soft",
                category="quality",
                check="llm_judge",
            ),
        ],
        context={
            "industry": "B2B SaaS",
            "target_segment": "Mid-market enterprises",
            "min_budget": 10000,
            "qualifying_questions": [
                "What's your budget?",
                "What's your timeline?",
                "Who's the decision maker?",
            ],
        },
        required_capabilities=["llm", "web_search", "crm_integration"],
        version="1.0.0",
    )


def email_goals() -> tuple[Goal, Goal]:
    """The seed's Goal Evolution example: v1 and the v2 that evolved from it."""
    v1 = Goal(
        id="email-sender-001",
        name="Email Sender",
        description="Send marketing emails",
        version="1.0.0",
    )
    v2 = Goal(
        id="email-sender-001",
        name="Email Sender",
        description="Send personalized marketing emails with A/B testing",
        success_criteria=[
            SuccessCriterion(
                id="open-rate",
                description="Email open rate > 25%",
                metric="custom",
                target=0.25,
                weight=0.7,
            ),
            SuccessCriterion(
                id="personalization",
                description="All emails include recipient name and company",
                metric="llm_judge",
                target=True,
                weight=0.3,
            ),
        ],
        version="2.0.0",
        parent_version="1.0.0",
        evolution_reason="Added personalization and A/B testing based on low engagement",
    )
    return v1, v2


class TestSeedExamples:
    def test_calculator_fields_and_defaults(self) -> None:
        goal = calculator_goal()
        assert goal.status is GoalStatus.DRAFT
        assert goal.success_criteria[0].metric is Metric.OUTPUT_EQUALS
        assert goal.success_criteria[0].type == "success_rate"
        assert goal.success_criteria[0].met is False
        assert goal.constraints[0].constraint_type is ConstraintType.HARD
        assert goal.constraints[0].category is Category.SAFETY
        assert goal.version == "1.0.0"
        assert goal.parent_version is None

    def test_calculator_succeeds_only_when_its_criterion_is_met(self) -> None:
        goal = calculator_goal()
        assert goal.is_success() is False
        goal.success_criteria[0].met = True
        assert goal.is_success() is True

    def test_calculator_no_crash_check_binds_mapping_names(self) -> None:
        goal = calculator_goal()
        assert goal.check_constraint("no-crash", {"output": 4, "exception": None}) is True
        assert goal.check_constraint("no-crash", {"output": None, "exception": None}) is False

    def test_sales_budget_check_binds_the_single_free_name(self) -> None:
        goal = sales_goal()
        assert goal.check_constraint("budget-threshold", 25_000) is True
        assert goal.check_constraint("budget-threshold", 9_999) is False

    def test_sales_judge_constraint_cannot_be_checked_offline(self) -> None:
        with pytest.raises(ValueError, match="checked by an LLM judge"):
            sales_goal().check_constraint("professional-tone", "Dear Dana, …")

    def test_sales_constraint_without_check_says_so(self) -> None:
        with pytest.raises(ValueError, match="'no-spam' has no check expression"):
            sales_goal().check_constraint("no-spam", 1)

    def test_sales_weights_need_90_percent(self) -> None:
        goal = sales_goal()
        goal.success_criteria[0].met = True  # 1.0 of 1.5 is 66%
        assert goal.is_success() is False
        goal.success_criteria[1].met = True
        assert goal.is_success() is True

    def test_sales_thresholds_follow_numeric_targets(self) -> None:
        accuracy, response_time = sales_goal().success_criteria
        assert accuracy.success_threshold() == 0.9  # llm_judge target in (0, 1]
        assert response_time.success_threshold() == 1.0  # 300 is a value, not a share

    def test_sales_prompt_context(self) -> None:
        assert sales_goal().to_prompt_context() == (
            "## Goal: Sales Lead Qualifier\n"
            "\n"
            "Qualify incoming sales leads based on budget, timeline, and fit\n"
            "\n"
            "### Success criteria\n"
            "- Correctly identify qualified vs unqualified leads\n"
            "- Qualify leads within 5 minutes (weight 0.5)\n"
            "\n"
            "### Constraints\n"
            "- MUST: Only qualify leads with >$10k budget\n"
            "- MUST: Don't contact leads more than once\n"
            "- SHOULD: Maintain professional communication\n"
            "\n"
            "### Context\n"
            "- industry: B2B SaaS\n"
            "- target_segment: Mid-market enterprises\n"
            "- min_budget: 10000\n"
            '- qualifying_questions: ["What\'s your budget?", "What\'s your timeline?", '
            '"Who\'s the decision maker?"]\n'
        )

    def test_email_evolution_lineage(self) -> None:
        v1, v2 = email_goals()
        assert v1.to_prompt_context() == ""  # a stub goal: no criteria, constraints, context
        assert v2.parent_version == v1.version
        assert v2.evolution_reason.startswith("Added personalization")
        assert v2.success_criteria[0].success_threshold() == 0.25
        assert readiness_issues(v1) == []  # drafts need no criteria

    def test_email_v2_weighted_rule(self) -> None:
        _, v2 = email_goals()
        v2.success_criteria[0].met = True  # 0.7 of 1.0
        assert v2.is_success() is False
        v2.success_criteria[1].met = True
        assert v2.is_success() is True


class TestNinetyPercentRule:
    def test_exactly_ninety_percent_with_binary_unfriendly_weights(self) -> None:
        # 0.99 + 0.99 = 1.98 = 90% of 2.20 exactly; binary floats would say 89.999…%.
        assert weighted_success([(0.99, True), (0.99, True), (0.22, False)]) is True

    def test_just_below_ninety_percent(self) -> None:
        assert weighted_success([(0.89, True), (0.11, False)]) is False

    def test_no_criteria_is_no_success(self) -> None:
        assert weighted_success([]) is False

    def test_all_zero_weights_is_no_success(self) -> None:
        assert weighted_success([(0.0, True), (0.0, True)]) is False


class TestStructure:
    def test_duplicate_criterion_ids_are_rejected(self) -> None:
        with pytest.raises(ValidationError, match=r"success_criteria\[1\]\.id: duplicate id 'a'"):
            Goal(
                id="g",
                name="G",
                description="d",
                success_criteria=[
                    SuccessCriterion(id="a", description="x"),
                    SuccessCriterion(id="a", description="y"),
                ],
            )

    def test_parent_version_must_differ(self) -> None:
        with pytest.raises(ValidationError, match="parent_version must differ from version"):
            Goal(id="g", name="G", description="d", version="1.0.0", parent_version="1.0.0")

    @pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0.0"])
    def test_versions_are_semver(self, version: str) -> None:
        with pytest.raises(ValidationError, match="version"):
            Goal(id="g", name="G", description="d", version=version)

    def test_weight_is_between_0_and_1(self) -> None:
        with pytest.raises(ValidationError, match="less than or equal to 1"):
            SuccessCriterion(id="a", description="x", weight=1.5)

    def test_unknown_fields_are_rejected(self) -> None:
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            Goal(id="g", name="G", description="d", sucess_criteria=[])  # type: ignore[call-arg]

    def test_metric_is_an_enum(self) -> None:
        with pytest.raises(ValidationError, match="output_contains"):
            SuccessCriterion(id="a", description="x", metric="exact")

    def test_ready_goal_without_criteria_is_reported(self) -> None:
        goal = Goal(id="g", name="G", description="d", status="ready")
        [issue] = readiness_issues(goal)
        assert issue.message == "a goal that is not a draft needs at least one success criterion"

    def test_ready_goal_with_zero_total_weight_is_reported(self) -> None:
        goal = Goal(
            id="g",
            name="G",
            description="d",
            status="ready",
            success_criteria=[SuccessCriterion(id="a", description="x", weight=0)],
        )
        [issue] = readiness_issues(goal)
        assert issue.message == "the total weight of the success criteria must be above 0"


class TestCheckConstraint:
    def test_unknown_id_names_the_known_ids(self) -> None:
        with pytest.raises(
            KeyError, match=r"no constraint 'nope' \(known: budget-threshold, no-spam"
        ):
            sales_goal().check_constraint("nope", 1)

    def test_value_is_always_bound_as_value(self) -> None:
        goal = Goal(
            id="g",
            name="G",
            description="d",
            constraints=[Constraint(id="short", description="d", check="len(value) <= 5")],
        )
        assert goal.check_constraint("short", "abc") is True
        assert goal.check_constraint("short", "abcdefgh") is False

    def test_unsafe_expression_is_refused(self) -> None:
        goal = Goal(
            id="g",
            name="G",
            description="d",
            constraints=[Constraint(id="evil", description="d", check="value.__class__")],
        )
        with pytest.raises(ExpressionError):
            goal.check_constraint("evil", 1)
