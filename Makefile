# Two commands for a new user:  `make run` (the main job on defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench install clean results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[dev,human,ray]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hop-bench run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -m "not slow" --timeout=600

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 --timeout=1800

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info

# Every generated result of README.md and docs/results, by the commands the docs give (hours
# on 2 cores; run it after changing an agent). Runs and episodes are stored under $(RESULTS)
# and reused, so an interrupted `make results` goes on where it stopped.
RESULTS ?= results
HB := $(BIN)/hop-bench
MSH_10X10 := msh/heldout-1v3-alternator msh/heldout-1v3-patient-stag \
	msh/heldout-1v3-reciprocator msh/heldout-1v3-stag-follower msh/heldout-hidden \
	msh/heldout-mixed msh/adapt-1v3-nearest-hare msh/adapt-1v3-nearest-stag \
	msh/adapt-1v3-random msh/adapt-hidden msh/adapt-mixed
MSG_10X10 := msg/heldout-1v3-conditional-cleaner msg/heldout-1v3-late-cleaner \
	msg/heldout-1v3-lazy-cleaner msg/heldout-1v3-reciprocal-cleaner msg/heldout-hidden \
	msg/heldout-mixed msg/adapt-1v3-cleaner msg/adapt-1v3-free-rider msg/adapt-1v3-random \
	msg/adapt-hidden msg/adapt-mixed

results: $(STAMP)
	$(HB) references --db $(RESULTS)/references.sqlite --no-progress
	$(HB) run --planner-scenarios one-focal --planner-trials 4 --planner-episodes 4 \
		--out docs/results --readme README.md --db $(RESULTS)/readme.sqlite --no-progress
	for env in hop/MarkovStagHunt-v0 hop/MarkovSnowdrift-v0; do \
		$(HB) hop-plus-ablation --env $$env --readme README.md --runs $(RESULTS)/hop-plus-ablation \
			--db $(RESULTS)/hop-plus-ablation.sqlite --no-progress || exit 1; \
	done
	for agent in hop hop-plus oracle-mcts; do \
		$(HB) evaluate --agent $$agent $(addprefix --scenario ,$(MSH_10X10)) --trials 10 \
			--episodes 10 --db $(RESULTS)/hop-plus-10x10.sqlite --no-progress || exit 1; \
	done
	for agent in hop-plus hop; do \
		$(HB) evaluate --agent $$agent $(addprefix --scenario ,$(MSG_10X10)) --trials 10 \
			--episodes 10 --db $(RESULTS)/hop-plus-10x10.sqlite --no-progress || exit 1; \
	done
	$(HB) report --db $(RESULTS)/hop-plus-10x10.sqlite --out docs/results/hop_plus_10x10 \
		--readme README.md --section hop-plus-10x10
	$(HB) hop-plus-validate --env hop/MarkovStagHunt-v0 --trials 30 \
		--runs $(RESULTS)/hop-plus-validation --db $(RESULTS)/hop-plus-validation.sqlite \
		--out docs/results/hop_plus_validation_MarkovStagHunt-v0.md --no-progress
	$(HB) hop-plus-validate --env hop/MarkovStagHunt-v0 --iterations 20 --trials 30 \
		--compare resample_on_reach=true \
		--runs $(RESULTS)/hop-plus-validation --db $(RESULTS)/hop-plus-validation.sqlite \
		--out docs/results/hop_plus_validation_resample_on_reach_MarkovStagHunt-v0.md --no-progress
	$(HB) hop-plus-validate --env hop/MarkovStagHunt-v0 --iterations 20 --trials 30 \
		--compare num_trees=10 \
		--runs $(RESULTS)/hop-plus-validation --db $(RESULTS)/hop-plus-validation.sqlite \
		--out docs/results/hop_plus_validation_num_trees_10_MarkovStagHunt-v0.md --no-progress
