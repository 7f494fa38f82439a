# The front door: every target builds the environment it needs from pinned dependencies.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin

.PHONY: demo test lint sam-validate local clean

$(BIN)/hubctl: pyproject.toml requirements/runtime.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/runtime.lock -e '.[test]'
	@touch $@

# aws-sam-cli pins an older boto3 than the runtime: it lives in its own environment.
$(SAM_VENV)/bin/sam: requirements/sam.lock
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q -r requirements/sam.lock
	@touch $@

demo: $(BIN)/hubctl
	$(BIN)/hubctl demo

test: $(BIN)/hubctl $(SAM_VENV)/bin/sam
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/hubctl $(SAM_VENV)/bin/sam
	$(BIN)/cfn-lint template.yaml spokes/*.yaml
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1

local: $(BIN)/hubctl
	$(BIN)/hubctl local up

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache
