# Real-Neutron tests of `intentc openstack plan|apply` (package ./neutron and
# the openstack CLI tests of ./cmd/intentc). Included by the top-level Makefile.
#
#   make neutron-prepare   install Debian's python3-neutron if it is missing
#                          (~60 s on a fresh machine, apt; part of `make test`)
#   make test-neutron      run just those tests against a real Neutron
#
# The tests start their own keystone-less Neutron (hack/neutron-up.sh: SQLite,
# 127.0.0.1, a free port, a temporary state directory; ~5 s) and stop it after;
# with INTENTC_E2E=1 they fail, never skip, when it cannot start. See
# docs/openstack.md.

GO ?= go
NEUTRON_TEST_TIMEOUT ?= 10m
NEUTRON_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

TEST_PREPARE += neutron-prepare

.PHONY: neutron-prepare test-neutron

neutron-prepare:
	@if /usr/bin/python3 -c 'import neutron' 2>/dev/null; then \
		echo "neutron-prepare: python3-neutron is installed"; \
	else \
		echo "neutron-prepare: installing python3-neutron (apt)"; \
		$(NEUTRON_SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(NEUTRON_SUDO) apt-get install -y -qq --no-install-recommends python3-neutron >/dev/null; \
	fi
	@command -v curl >/dev/null || { $(NEUTRON_SUDO) apt-get update -qq && $(NEUTRON_SUDO) apt-get install -y -qq curl >/dev/null; }
	@/usr/bin/python3 -c 'import neutron' || { echo "neutron-prepare: python3-neutron is still not importable by /usr/bin/python3" >&2; exit 1; }

test-neutron: neutron-prepare
	INTENTC_E2E=1 $(GO) test -count=1 -v -timeout $(NEUTRON_TEST_TIMEOUT) ./neutron/...
	INTENTC_E2E=1 $(GO) test -count=1 -timeout $(NEUTRON_TEST_TIMEOUT) -run 'Openstack' ./cmd/intentc
