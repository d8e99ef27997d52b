"""A user module defining a scenario, named as ``tests_scenario_module:make_scenario``."""

from evaluation.scenarios import Scenario


def make_scenario() -> Scenario:
    return Scenario(
        "custom/two-player",
        "hop/MarkovSnowdrift-v0",
        focal_seats=(0,),
        background="cleaner",
        env_kwargs={"num_players": 2},
    )
