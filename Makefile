# The front door: every target builds the environment it needs from pinned dependencies.
# Python 3.12 (the Lambda runtime) when there is one that runs (a pyenv shim may exist without
# the version being active), else any python3 >= 3.11.
PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin

.PHONY: demo test bench lint sam-validate local clean

$(BIN)/hubctl: pyproject.toml requirements/runtime.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11+ not found (3.12 preferred): install it or run make PYTHON=/path/to/python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/runtime.lock -e '.[test]'
	@touch $@

# A tool with its own pinned environment: $(1) the folder, $(2) its lock file.
define tool-venv
	@test -n "$(PYTHON)" || { echo "Python 3.11+ not found: install it or run make PYTHON=/path/to/python3"; exit 1; }
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip
	$(1)/bin/python -m pip install -q -r $(2)
	@touch $@
endef

# aws-sam-cli pins an older boto3 than the runtime: it lives in its own environment.
$(SAM_VENV)/bin/sam: requirements/sam.lock
	$(call tool-venv,$(SAM_VENV),requirements/sam.lock)

# checkov pins its own boto3 and friends too: its own environment as well.
$(CHECKOV_VENV)/bin/checkov: requirements/checkov.lock
	$(call tool-venv,$(CHECKOV_VENV),requirements/checkov.lock)

demo: $(BIN)/hubctl
	$(BIN)/hubctl demo

test: $(BIN)/hubctl $(SAM_VENV)/bin/sam $(CHECKOV_VENV)/bin/checkov
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(BIN)/pytest $(PYTEST_ARGS)

# Every workflow timed and counted on the embedded emulation: bench/results.{json,md}, bench/scaling.png.
bench: $(BIN)/hubctl $(SAM_VENV)/bin/sam $(CHECKOV_VENV)/bin/checkov
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(BIN)/hubctl bench $(BENCH_ARGS)

lint: $(BIN)/hubctl $(SAM_VENV)/bin/sam $(CHECKOV_VENV)/bin/checkov
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml spokes/*.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f template.yaml -f spokes/tenant.yaml -f spokes/research.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1

# LOCAL_ARGS: options of hubctl local up, e.g. make local LOCAL_ARGS="--port 4567 --clock 2026-11-02"
local: $(BIN)/hubctl
	$(BIN)/hubctl local up $(LOCAL_ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache site .hubsim-cache
