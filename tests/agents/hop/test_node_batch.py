"""``node_batch``: the nodes' states as one batch, from the batches they live in.

It must equal ``BatchedState.stack`` of the nodes' states array for array (and in its
``shared_board`` flag), whichever batches the nodes come from and in whatever order, and a
whole search must decide the same with it as with plain stacking.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_compiled_rollouts import hop_agent

from agents.hop import planner as planner_module
from agents.hop import search_tree
from agents.hop.goal_sampling import BeliefGoalSampler, SamplerRedraw, UniformGoalSampler
from agents.hop.search_tree import Node, node_batch
from agents.hop.stacked_states import StackedStates
from hop_envs.core import BatchedState
from hop_envs.core.positions import random_positions

RESULT_FIELDS = ("policy", "q_values", "tree_q", "visit_counts", "target_visits", "q_lower")


def search(agent, state, seed: int):
    rules = agent.rules
    sampler = BeliefGoalSampler(
        rules, {j: {g: 1.0 for g in rules.goals.available(state)} for j in (1, 2, 3)}
    )
    agent.search_policy.clear()
    return agent.planner.plan(
        state, 0, agent.search_policy, agent.evaluator, np.random.default_rng(seed),
        goal_sampler=sampler,
    )  # fmt: skip


def assert_same_batch(got: BatchedState, expected: BatchedState) -> None:
    for field in dataclasses.fields(BatchedState):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), field.name
        else:
            assert a == b, field.name


def searched_nodes(monkeypatch: pytest.MonkeyPatch, env_id: str) -> list[Node]:
    """Every child a search of the shipped agent created (from several batched steps)."""
    created: list[Node] = []
    original = planner_module.create_children

    def recording(game, new):
        original(game, new)
        created.extend(child for _, child in new)

    monkeypatch.setattr(planner_module, "create_children", recording)
    agent = hop_agent(env_id, True)
    search(agent, random_positions(agent.rules, 1, 3)[0], 5)
    return created


@pytest.mark.parametrize("env_id", ["hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"])
def test_node_batch_equals_stacking_the_states(
    monkeypatch: pytest.MonkeyPatch, env_id: str
) -> None:
    nodes = searched_nodes(monkeypatch, env_id)
    batches = {id(node.source[0]) for node in nodes}
    assert len(batches) > 2  # the nodes come from several batched steps
    rng = np.random.default_rng(0)
    one_batch = [n for n in nodes if n.source[0] is nodes[-1].source[0]]
    mixed = [nodes[i] for i in rng.permutation(len(nodes))[: min(len(nodes), 40)]]
    repeated = [nodes[0], nodes[-1], nodes[0]]
    for chosen in (one_batch, one_batch[::-1], mixed, repeated, nodes[:1]):
        assert_same_batch(node_batch(chosen), BatchedState.stack([n.state for n in chosen]))
    # A node without a source (a state the caller made) is stacked with the rest.
    loose = Node(nodes[0].state.copy(), 0.0, False, 1, nodes[0].goals)
    assert loose.source is None
    chosen = [*mixed[:5], loose]
    assert_same_batch(node_batch(chosen), BatchedState.stack([n.state for n in chosen]))


def test_a_search_decides_the_same_as_with_stacked_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = hop_agent("hop/MarkovStagHunt-v0", True)  # a fresh agent per side: the
    states = random_positions(agent.rules, 3, 2)  # rollouts' generator lives in it
    fast = [search(agent, state, 11) for state in states]

    def stacked(nodes):
        return BatchedState.stack([node.state for node in nodes])

    monkeypatch.setattr(planner_module, "node_batch", stacked)
    monkeypatch.setattr(search_tree, "node_batch", stacked)
    agent = hop_agent("hop/MarkovStagHunt-v0", True)
    slow = [search(agent, state, 11) for state in states]
    for a, b in zip(fast, slow, strict=True):
        for name in RESULT_FIELDS:
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_evaluators_answer_the_same_on_stacked_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The focal net's priors and values and the rollout values, asked with
    :class:`StackedStates` (read from its batch) and with a plain list of the same states."""
    nodes = searched_nodes(monkeypatch, "hop/MarkovStagHunt-v0")
    rng = np.random.default_rng(1)
    chosen = [nodes[i] for i in rng.permutation(len(nodes))[:30]]
    states = [node.state for node in chosen]
    goals = [node.goals for node in chosen]
    answers = []
    for given in (states, StackedStates(states, lambda: node_batch(chosen))):
        agent = hop_agent("hop/MarkovStagHunt-v0", True)  # the rollouts' generator anew
        network = agent.evaluator.network
        priors, values = network.evaluate(given, 0)
        redraw = SamplerRedraw(UniformGoalSampler(agent.rules), np.random.default_rng(2))
        rollouts = agent.evaluator.rollouts.values_with_goals(given, 0, goals, redraw)
        answers.append((priors, values, rollouts))
    for a, b in zip(*answers, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
