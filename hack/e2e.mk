# e2e checks of the generated manifests against a real kube-apiserver and
# `istioctl analyze` (package ./e2e). Included by the top-level Makefile.
#
#   make e2e-prepare   install etcd, build-or-restore kube-apiserver and istioctl
#                      (cached in $${INTENTC_CACHE:-$$HOME/.cache/intentc}), write $(E2E_ENV)
#   make e2e           e2e-prepare, then run the e2e tests with that environment
#
# A cold prepare builds kube-apiserver and istioctl from the module proxy
# (~10 min on 2 cores); later runs on the same machine take seconds.

GO ?= go
E2E_ENV ?= bin/e2e.env
# The test binary runs in well under a minute; the slack covers slow CI
# machines and the envtest start/stop timeouts (1 min each).
E2E_TIMEOUT ?= 20m

TEST_PREPARE += e2e-prepare

.PHONY: e2e-prepare e2e

e2e-prepare:
	hack/e2e-env.sh --env-file $(E2E_ENV)

e2e: e2e-prepare
	. ./$(E2E_ENV) && INTENTC_E2E=1 $(GO) test -count=1 -v -timeout $(E2E_TIMEOUT) ./e2e/...
