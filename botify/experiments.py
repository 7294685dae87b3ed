"""A/B experiments: users bucketed into arms exactly as the course's service does (botify.arms).

One experiment routes traffic (its arms hold recommender chains); every declared experiment's arm
is recorded in each event, so an A/A experiment can be logged alongside the real one.

In config.json:
  "routing_experiment": "STICKY_VS_I2I",
  "experiments": [
    {"name": "STICKY_VS_I2I", "arms": {"C": [...chain...], "T1": [...chain...]}},
    {"name": "AA", "arms": 2}
  ]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from botify.arms import arm_names, bucket, experiment_seed
from botify.config import Config, ConfigError
from botify.data import DataView
from botify.recommenders.chain import Chain, build_chain


@dataclass
class Experiment:
    name: str
    arms: list[str]
    chains: dict[str, Chain] | None = None  # only the routing experiment needs chains
    pinned_arm: str | None = None  # every user in this arm (an in-process run of one arm)

    def __post_init__(self):
        self._seed = experiment_seed(self.name)

    def arm(self, user: int) -> str:
        if self.pinned_arm is not None:
            return self.pinned_arm
        return self.arms[bucket(user, self.name, len(self.arms), self._seed)]

    def describe(self) -> dict:
        described = {"name": self.name, "arms": len(self.arms)}
        if self.chains is not None:
            described["chains"] = {arm: chain.describe() for arm, chain in self.chains.items()}
        else:
            described["chains"] = None
        return described


# Serves everything when a config declares no experiment at all.
DEFAULT_EXPERIMENT = "DEFAULT"


@dataclass
class Experiments:
    declared: list[Experiment]
    routing: Experiment

    def assign(self, user: int) -> tuple[Chain, dict[str, str]]:
        """The chain that serves `user`, and the user's arm in every declared experiment."""
        arms = {experiment.name: experiment.arm(user) for experiment in self.declared}
        routing = self.routing
        arm = arms[routing.name] if routing in self.declared else routing.arm(user)
        assert routing.chains is not None  # the routing experiment always has chains
        return routing.chains[arm], arms

    def failures(self) -> dict[str, dict[str, int]]:
        """The routing experiment's chain links that failed in this process, by arm."""
        assert self.routing.chains is not None
        return {
            arm: dict(chain.failures)
            for arm, chain in self.routing.chains.items()
            if chain.failures
        }

    def pinned(self, arm: str) -> Experiments:
        """The same experiments with every user in `arm` of the routing experiment (and logged
        in it). Raises ValueError for an arm that is not one of the routing experiment's."""
        routing = self.routing
        if arm not in routing.arms:
            raise ValueError(
                f"arm {arm!r} is not an arm of experiment {routing.name!r} "
                f"(arms: {', '.join(routing.arms)})"
            )
        pinned = dataclasses.replace(routing, pinned_arm=arm)
        declared = [pinned if e is routing else e for e in self.declared]
        return Experiments(declared, pinned)

    def describe(self) -> dict:
        return {
            "routing": self.routing.name,
            "experiments": [experiment.describe() for experiment in self.declared],
        }


def _build_experiment(
    spec: object, data: DataView, where: str, seed: int | None, request_seed: int | None
) -> Experiment:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: an experiment must be an object with 'name' and 'arms'")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    unknown = sorted(set(spec) - {"name", "arms", "description"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (an experiment has name, arms)")
    arms = spec.get("arms")
    if isinstance(arms, int) and not isinstance(arms, bool):
        if arms < 1:
            raise ConfigError(f"{where}: 'arms' must be at least 1")
        return Experiment(name, arm_names(arms))
    if not isinstance(arms, dict) or not arms:
        raise ConfigError(f"{where}: 'arms' must be a number of arms or an object arm -> chain")
    expected = arm_names(len(arms))
    if sorted(arms) != sorted(expected):
        raise ConfigError(
            f"{where}: arms must be named {', '.join(expected)}, got {', '.join(arms)}"
        )
    chains = {
        arm: build_chain(
            arms[arm],
            data,
            f"{where}.arms.{arm}",
            None if seed is None else seed * 100 + i,
            request_seed,
        )
        for i, arm in enumerate(expected)
    }
    return Experiment(name, expected, chains)


def build_experiments(config: Config, data: DataView, seed: int | None = None) -> Experiments:
    """The config's experiments with their chains. `seed` makes random picks reproducible (the
    simulator's in-process mode); the service leaves it None. The config's own `seed` seeds each
    request's picks (botify.recommenders.chain)."""
    where = f"{config.source or 'config'}: experiments"
    request_seed = config.get("seed")
    declared = [
        _build_experiment(spec, data, f"{where}[{i}]", seed, request_seed)
        for i, spec in enumerate(config["experiments"])
    ]
    names = [experiment.name for experiment in declared]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: experiment names must be unique, got {names}")
    with_chains = [experiment for experiment in declared if experiment.chains is not None]
    routing_name = config["routing_experiment"]
    if routing_name is None:
        if not declared:
            default = Experiment(
                DEFAULT_EXPERIMENT,
                ["C"],
                {"C": build_chain(["random"], data, "default", seed, request_seed)},
            )
            return Experiments([], default)
        if len(with_chains) != 1:
            raise ConfigError(
                f"{config.source or 'config'}: routing_experiment: name the experiment that "
                f"routes traffic (experiments with chains: {[e.name for e in with_chains]})"
            )
        return Experiments(declared, with_chains[0])
    routing = next((e for e in declared if e.name == routing_name), None)
    if routing is None or routing.chains is None:
        raise ConfigError(
            f"{config.source or 'config'}: routing_experiment: {routing_name!r} is not a declared "
            f"experiment with chains (have: {[e.name for e in with_chains]})"
        )
    return Experiments(declared, routing)
