# AI Subsidy System infrastructure. `make synth` and `make test` are all a new machine needs.
# Installs are stamped: when the lock files have not changed, the install step costs nothing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .tools/checkov
ENV ?=
STACK ?=
# Delivery targets (see README, "Delivery"): pr-summary, plan, apply, gitops-publish, set-image, ...
BASE ?=
PLANS ?=
OUT ?=
SUMMARY_HEAD ?= .
COMPONENT ?=
TAG ?=
REMOTE ?= origin
REPORTS := reports
# gitleaks for the secret scan, installed with `go install` (the Go checksum database verifies it).
GITLEAKS_VERSION := v8.28.0
GITLEAKS := .tools/bin/gitleaks

PY_STAMP := $(VENV)/.installed
BYTECODE_STAMP := .cache/bytecode.installed
PROJECT_PACKAGES := envspec stacks charts synth imports
NODE_STAMP := node_modules/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

ENV_ARGS := $(foreach env,$(ENV),--env $(env))
# Terraform CLI config pointing at an offline provider mirror, when one is found (see tools/terraform_cli.py).
TF_ENV = TF_CLI_CONFIG_FILE="$$($(PY) -m tools.terraform_cli path)" CHECKPOINT_DISABLE=1

.PHONY: help install synth test bench-tests snapshot-update lint bench imports lock diff deploy clean
.PHONY: pr-summary plan apply apply-after-sync gitops-publish gitops-render gitops-push ci-matrix checkov set-image secret-scan

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Synthesis runs with -O, which skips the bindings' per-argument runtime type checks (the tests
# synthesize without -O, so they still run there); their optimized bytecode is compiled here once.
JSII_PACKAGES := cdktf_cdktf_provider_aws cdktf cdk8s cdk8s_plus_27 constructs jsii typeguard

$(PY_STAMP): requirements/dev.lock
	@$(PYTHON3) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is required")'
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(PY) -O -m compileall -q -j 0 $$($(PY) -c 'import sysconfig; print(*(sysconfig.get_path("purelib") + "/" + n for n in "$(JSII_PACKAGES)".split()))') > /dev/null
	@touch $@

# The project's own bytecode, plain and -O, compiled once per change: imports/ alone is 4 MB of
# generated source, which Python would otherwise compile on every run where PYTHONDONTWRITEBYTECODE
# is set (Python still reads bytecode that exists, and checks it against the source's mtime).
$(BYTECODE_STAMP): $(PY_STAMP) $(shell find $(PROJECT_PACKAGES) -name '*.py' 2>/dev/null)
	$(PY) -m compileall -q -o 0 -o 1 $(PROJECT_PACKAGES) > /dev/null
	@mkdir -p $(@D) && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHECKOV_STAMP): requirements/checkov.lock
	$(PYTHON3) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.lock
	@touch $@

install: $(PY_STAMP) $(BYTECODE_STAMP) $(NODE_STAMP) ## Install Python and Node dependencies from the lock files

synth: install ## Synthesize every environment (or ENV=staging) into cdktf.out/ and dist/
	@$(PY) -O -m synth $(ENV_ARGS)

# The suite runs on every core (pytest-xdist); expensive inputs are built once for all workers
# (tests/run_once.py); each module runs on one worker, so its module-scoped fixtures are built once.
# TEST_WORKERS=0 runs it in one process. See docs/performance.md.
TEST_WORKERS ?= auto
test: install $(CHECKOV_STAMP) ## Run the whole test suite (synthesis, validators, snapshots)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench-tests: install $(CHECKOV_STAMP) ## Wall and CPU time of `make test`, every process included (RUNS=1)
	$(PY) -m tools.bench --suite --runs $(or $(RUNS),1)

snapshot-update: install ## Rewrite the stored snapshots from a fresh synthesis (review the diff!)
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

lint: install ## ruff over the Python code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install ## Synthesis time and memory for 1, 3 and 10 environments vs the naive floor
	$(PY) -m tools.bench

imports: install ## Regenerate imports/ from the CRD files in crds/
	$(PY) -m tools.import_crds

lock: ## Re-resolve requirements/*.lock from requirements/*.in (needs PyPI)
	$(PYTHON3) -m venv .tools/lock
	.tools/lock/bin/pip install --quiet pip-tools==7.6.2
	cd requirements && ../.tools/lock/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-header --no-emit-find-links --no-emit-index-url -o dev.lock dev.in
	cd requirements && ../.tools/lock/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-header --no-emit-find-links --no-emit-index-url -o checkov.lock checkov.in

diff: install ## terraform plan of one stack through cdktf: make diff STACK=staging-network
	@test -n "$(STACK)" || { echo "error: set STACK=<env>-<layer>, e.g. STACK=staging-network" >&2; exit 2; }
	$(TF_ENV) npx cdktf diff $(STACK)

deploy: install ## terraform apply of one stack through cdktf: make deploy STACK=staging-network
	@test -n "$(STACK)" || { echo "error: set STACK=<env>-<layer>, e.g. STACK=staging-network" >&2; exit 2; }
	$(TF_ENV) npx cdktf deploy $(STACK)

clean: ## Remove synthesized output and caches (keeps installs)
	rm -rf cdktf.out dist .pytest_cache .cache/terraform .plans $(REPORTS)

# --- Delivery: the commands the GitHub workflows run --------------------------------------------
define require_one_env
	@test "$(words $(ENV))" = 1 || { echo "error: set ENV=<one environment>, e.g. ENV=staging" >&2; exit 2; }
endef

pr-summary: install ## Pull-request summary vs BASE (folder or git ref); PLANS=<plan digests> OUT=<file>
	@test -n "$(BASE)" || { echo "error: set BASE=<git ref or synthesis folder>, e.g. BASE=origin/main" >&2; exit 2; }
	@$(PY) -O -m synth --quiet --terraform-outdir "$(SUMMARY_HEAD)/cdktf.out" --kubernetes-outdir "$(SUMMARY_HEAD)/dist"
	@$(PY) -m tools.pr_summary --base "$(BASE)" --head "$(SUMMARY_HEAD)" $(if $(PLANS),--plans "$(PLANS)") $(if $(OUT),--output "$(OUT)")

plan: install ## Read-only terraform plan of ENV's stacks (CI's plan role); digests in .plans/ENV/
	$(require_one_env)
	@$(PY) -O -m synth $(ENV_ARGS) --quiet
	$(PY) -m tools.delivery plan --env $(ENV)

apply: install ## terraform apply of ENV's stacks in dependency order, plain terraform on the JSON
	$(require_one_env)
	@$(PY) -O -m synth $(ENV_ARGS) --quiet
	$(PY) -m tools.delivery apply --env $(ENV)

apply-after-sync: install ## terraform apply of ENV's stacks that follow the manifests' sync (the standby's failover records)
	$(require_one_env)
	@$(PY) -O -m synth $(ENV_ARGS) --quiet
	$(PY) -m tools.delivery apply --env $(ENV) --after-sync

gitops-publish: gitops-render gitops-push ## Render dist/ENV, commit it to its GitOps branch gitops/ENV, push it to REMOTE

gitops-render: install ## Render dist/ENV only (the first half of gitops-publish)
	$(require_one_env)
	@$(PY) -O -m synth $(ENV_ARGS) --target kubernetes --quiet

# No prerequisites: the deploy workflow runs this alone, with the push token in its environment, after
# the installs ran in an earlier step without it.
gitops-push: ## Commit the rendered dist/ENV to gitops/ENV and push it (the second half of gitops-publish)
	$(require_one_env)
	$(PY) -m tools.delivery publish --env $(ENV) --remote $(REMOTE)

ci-matrix: install ## GitHub Actions outputs listing the environments, their roles and branches
	@$(PY) -m tools.delivery matrix

checkov: install $(CHECKOV_STAMP) ## checkov gate over the synthesized output, SARIF in reports/checkov.sarif
	@$(PY) -O -m synth --quiet
	$(PY) -m tools.checkov_gate --sarif $(REPORTS)/checkov.sarif

set-image: $(PY_STAMP) ## Set COMPONENT's image TAG in environments/ENV.yaml (ENV may name several)
	@test -n "$(ENV)" -a -n "$(COMPONENT)" -a -n "$(TAG)" || { echo "error: set ENV, COMPONENT and TAG" >&2; exit 2; }
	$(PY) -m tools.set_image $(ENV_ARGS) --component "$(COMPONENT)" --tag "$(TAG)"

$(GITLEAKS):
	@command -v go >/dev/null || { echo "error: the secret scan needs Go to install gitleaks $(GITLEAKS_VERSION)" >&2; exit 2; }
	GOBIN="$(CURDIR)/.tools/bin" go install github.com/zricethezav/gitleaks/v8@$(GITLEAKS_VERSION)

secret-scan: $(GITLEAKS) ## gitleaks over the whole git history, findings redacted, SARIF in reports/
	@mkdir -p $(REPORTS)
	$(GITLEAKS) git --redact --no-banner --report-format sarif --report-path $(REPORTS)/gitleaks.sarif .
