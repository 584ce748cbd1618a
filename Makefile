# intentc — see README.md. `make demo` and `make test` are the two set-up commands.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/intentc

# hack/*.mk add the targets that prepare real components for the tests
# (kube-apiserver and istioctl, Neutron, ...) and append them to
# TEST_PREPARE; they are included first so `test` sees the whole list.
TEST_PREPARE :=
include $(sort $(wildcard hack/*.mk))

.PHONY: all build demo test unit vet fmt-check fuzz bench pgo update clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/intentc

## demo: build, compile the bundled example into out/, list what was written
demo: build
	./$(BIN) compile examples/cross-cloud -o out
	@echo; echo "Generated files:"; find out -type f -not -name '.intentc-generated' | sort

## test: everything CI runs — vet, formatting, unit and golden tests, the
## real-API-server and istioctl checks (e2e), and a short fuzz run
test: vet fmt-check $(TEST_PREPARE)
	. ./$(E2E_ENV) && INTENTC_E2E=1 $(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fuzz: short runs of the fuzz targets of the intent parser and of
## the fast YAML reader (seed corpora in testdata/fuzz)
FUZZTIME ?= 20s
# Go minimises every new input for up to a minute by default, reporting
# no progress meanwhile: the intent parser's run spent its 20 s on the
# first ones (about 500 inputs tried, against 30,000–130,000 with this).
FUZZMIN ?= 1s
fuzz:
	$(GO) test ./compiler/intent -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN)
	$(GO) test ./internal/fastyaml -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10s -fuzzminimizetime $(FUZZMIN)
	$(GO) test ./verify -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s -fuzzminimizetime $(FUZZMIN)

bench:
	hack/bench.sh

## pgo: regenerate cmd/intentc/default.pgo, the profile go build optimises
## intentc with (docs/performance.md)
pgo:
	hack/pgo.sh

## update: rewrite golden files; read the diff before committing
update:
	$(GO) test ./... -update

clean:
	rm -rf bin out
