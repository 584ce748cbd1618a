# intentc lint in pre-commit and CI (docs/pre-commit.md, docs/ci.md).
# Included by the top-level Makefile.
#
#   make precommit    run the hooks of .pre-commit-hooks.yaml the way pre-commit
#                     runs them (go install ./... of this repository, staged
#                     files of a scratch git repository): hack/precommit-test.sh.
#                     `make test` covers it through go test (TestPreCommitHooks
#                     in ./cmd/intentc), so it adds nothing to TEST_PREPARE.
#   make bench-lint   whole-process wall time of `intentc lint examples/cross-cloud`
#                     beside conftest running the same rules on the same output
#                     (hack/lint-bench.sh; installs conftest once, with go install,
#                     into $${INTENTC_CACHE:-$$HOME/.cache/intentc}). LINT_BENCH_RUNS
#                     sets the runs per command (default 30).

LINT_BENCH_RUNS ?= 30

.PHONY: precommit bench-lint

precommit:
	hack/precommit-test.sh

bench-lint:
	hack/lint-bench.sh $(LINT_BENCH_RUNS)
