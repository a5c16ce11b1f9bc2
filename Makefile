# Quick start: `make run` (install and run the plan scenarios), `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/shuangta run scenarios/baseline.toml scenarios/plan.toml --out results
	$(BIN)/shuangta plot results/baseline results/plan --out results/plots
	$(BIN)/shuangta report results/baseline results/plan --out results/report.html

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q || { s=$$?; [ $$s -eq 5 ] && echo "no tests collected" && exit 1; exit $$s; }

bench: $(STAMP)
	$(BIN)/shuangta bench

clean:
	rm -rf $(VENV) build *.egg-info
