# The admission webhook (intentc serve, package ./webhook). Included by the
# top-level Makefile. Its end-to-end test (e2e/webhook_test.go) needs nothing
# beyond e2e-prepare, so it adds nothing to TEST_PREPARE.
#
#   make bench-webhook   load and fault benchmark of intentc serve on loopback:
#                        500 req/s and saturation (rps, p50/p99/p99.9), memory,
#                        then malformed JSON, an oversized body, slow and stalled
#                        clients, intent reloads and SIGTERM under load. About a
#                        minute; exits 1 if any answer was wrong or lost.
#                        BENCH_WEBHOOK_FLAGS passes flags, e.g.
#                        BENCH_WEBHOOK_FLAGS='-phase 20s -workers 64 -policies=false'

BENCH_WEBHOOK_FLAGS ?=

.PHONY: bench-webhook

bench-webhook: build
	$(GO) run ./webhook/bench -intentc $(BIN) $(BENCH_WEBHOOK_FLAGS)
