# verify (package ./verify, intentc explain and graph): Graphviz for the
# rendered service graph, np-guard's netpol-analyzer for the layer-2
# cross-check. Included by the top-level Makefile.
#
#   make verify-prepare   install graphviz, build-or-restore netpolicy
#                         (cached in $${INTENTC_CACHE:-$$HOME/.cache/intentc}/netpol)
#   make verify           verify-prepare, then the verify and CLI tests with
#                         the peers required (INTENTC_E2E=1)
#   make verify-long      the property test with thousands of random intents

GO ?= go
VERIFY_CASES ?= 3000

TEST_PREPARE += verify-prepare

.PHONY: verify-prepare verify verify-long

verify-prepare:
	hack/verify-env.sh

verify: verify-prepare
	INTENTC_E2E=1 $(GO) test -count=1 ./verify/... ./cmd/intentc/...

verify-long: verify-prepare
	INTENTC_E2E=1 $(GO) test -count=1 -timeout 60m ./verify -run 'TestProperty' -verify.cases $(VERIFY_CASES) -v
