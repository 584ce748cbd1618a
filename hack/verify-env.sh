#!/usr/bin/env bash
# Prepares what the verify tests need beyond Go:
#   - Graphviz `dot` (Debian's graphviz), which renders the service graph
#     in docs/ and checks that `intentc graph` output is valid DOT;
#   - np-guard's netpol-analyzer CLI (netpolicy), built from the tools
#     module hack/netpol (never imported by the main module), which
#     cross-checks verify's layer-2 verdicts.
#
# netpolicy is cached outside the clone, keyed by its version, the Go
# version and the architecture (the tests look for it there):
#   ${INTENTC_CACHE:-$HOME/.cache/intentc}/netpol/<version>-<go version>-<arch>/netpolicy
# A cold build takes ~1.5 min on 2 cores; a cached run, none.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${INTENTC_CACHE:-${HOME:?HOME is unset: set INTENTC_CACHE}/.cache/intentc}

log() { printf 'verify-env: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- graphviz
if ! command -v dot >/dev/null; then
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "graphviz is missing and we are not root (install Debian's graphviz)"
		sudo=sudo
	fi
	command -v apt-get >/dev/null || die "graphviz is missing and apt-get is not available"
	log "installing graphviz with apt"
	if ! apt-cache policy graphviz 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		$sudo apt-get update >&2 || die "apt-get update failed"
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y graphviz >&2 || die "apt-get install graphviz failed"
fi
dot -V >&2 || die "dot does not run"

# ---------------------------------------------------------------- netpolicy
command -v go >/dev/null || die "go is not on PATH"
MOD=hack/netpol
VERSION=$(awk '$1 == "github.com/np-guard/netpol-analyzer" {print $2} $1 == "require" && $2 == "github.com/np-guard/netpol-analyzer" {print $3}' "$ROOT/$MOD/go.mod")
[ -n "$VERSION" ] || die "$MOD/go.mod does not require github.com/np-guard/netpol-analyzer"
DIR=$CACHE/netpol/$VERSION-$(go env GOVERSION)-$(go env GOARCH)
HASH=$(cat "$ROOT/$MOD/go.mod" "$ROOT/$MOD/go.sum" | sha256sum | cut -c1-16)
mkdir -p "$CACHE/netpol"
exec 9>"$CACHE/.netpol.lock"
flock 9 2>/dev/null || true
if [ -x "$DIR/netpolicy" ] && [ "$(cat "$DIR/.modhash" 2>/dev/null)" = "$HASH" ]; then
	log "netpolicy $VERSION: cached ($DIR)"
else
	log "building netpolicy $VERSION (cold: ~1.5 min on 2 cores) -> $DIR"
	tmp=$(mktemp -d "$DIR.tmp.XXXXXX")
	chmod 755 "$tmp"
	# -mod=readonly: the committed go.sum (with np-guard/models' hashes,
	# which the checksum database does not serve) must be complete.
	if ! (cd "$ROOT/$MOD" && go build -mod=readonly -buildvcs=false -trimpath -ldflags '-s -w' -o "$tmp/netpolicy" github.com/np-guard/netpol-analyzer/cmd/netpolicy); then
		rm -rf "$tmp"
		die "building netpolicy failed"
	fi
	echo "$HASH" >"$tmp/.modhash"
	rm -rf "$DIR" && mv "$tmp" "$DIR"
fi
"$DIR/netpolicy" --help >/dev/null 2>&1 || die "cached netpolicy does not run: remove $DIR"
log "netpolicy: $DIR/netpolicy"
