#!/usr/bin/env bash
# Prepares what the e2e tests (./e2e) need and prints the environment for them.
#
#   eval "$(hack/e2e-env.sh)"            # progress goes to stderr, export lines to stdout
#   hack/e2e-env.sh --env-file FILE      # also writes the export lines to FILE
#
# - etcd: Debian's etcd-server (installed with apt if `etcd` is not on PATH).
# - kube-apiserver: built from hack/kube (k8s.io/kubernetes, staging modules
#   replaced by their releases), istioctl: built from hack/istioctl.
#
# The binaries are cached outside the clone, keyed by tool version, Go version
# and architecture, because a cold build takes ~6.5 min (kube-apiserver) and
# ~4 min (istioctl) on 2 cores while a cached run takes seconds:
#   ${INTENTC_CACHE:-$HOME/.cache/intentc}/kube/v1.37.2-go1.26.8-amd64/{kube-apiserver,etcd}
#   ${INTENTC_CACHE:-$HOME/.cache/intentc}/istioctl/<istio version>-go1.26.8-amd64/istioctl
# Each cache entry also records a hash of its tools module's go.mod/go.sum, so
# a dependency change under the same version still triggers a rebuild.
#
# The tools modules are built with -mod=readonly: their committed go.mod/go.sum
# must be complete. (Regenerate with hack/kube/gen-gomod.sh + GOFLAGS=-mod=mod.)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${INTENTC_CACHE:-${HOME:?HOME is unset: set INTENTC_CACHE}/.cache/intentc}
ENV_FILE=
while [ $# -gt 0 ]; do
	case $1 in
	--env-file) ENV_FILE=${2:?--env-file needs a path}; shift 2 ;;
	--env-file=*) ENV_FILE=${1#*=}; shift ;;
	*) echo "usage: $0 [--env-file FILE]" >&2; exit 2 ;;
	esac
done

log() { printf 'e2e-env: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

T0=$(now)
command -v go >/dev/null || die "go is not on PATH"
GOVER=$(go env GOVERSION)
GOARCH=$(go env GOARCH)
# -buildvcs=false: the tools modules sit inside this clone, whose VCS state
# says nothing about the binaries (and may not even have a commit yet).
GOBUILD=(go build -mod=readonly -buildvcs=false -trimpath)

# modversion <tools dir> <module>: the version the committed go.mod requires.
# Read from the file, not with `go list -m`, which would load the module
# graph (network on a fresh machine) just to answer a cache lookup.
modversion() {
	local v
	v=$(awk -v m="$2" '$0 ~ /=>/ {next} $1 == "require" && $2 == m {print $3} $1 == m {print $2}' "$ROOT/$1/go.mod")
	[ -n "$v" ] || die "$1/go.mod does not require $2"
	echo "$v"
}
modhash() { cat "$ROOT/$1/go.mod" "$ROOT/$1/go.sum" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- etcd
install_etcd() {
	local sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "etcd is missing and we are not root (install Debian's etcd-server)"
		sudo=sudo
	fi
	command -v apt-get >/dev/null || die "etcd is missing and apt-get is not available"
	log "installing etcd-server with apt"
	# Only refresh the package lists when apt does not know the package yet.
	if ! apt-cache policy etcd-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		$sudo apt-get update >&2 || die "apt-get update failed"
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y etcd-server >&2 || die "apt-get install etcd-server failed"
}
T=$(now)
if ! command -v etcd >/dev/null; then
	install_etcd
	ETCD_STATE="installed in $(since "$T")s"
else
	ETCD_STATE=present
fi
ETCD=$(command -v etcd) || die "etcd still not on PATH after installing etcd-server"
log "etcd: $ETCD ($ETCD_STATE)"

# ---------------------------------------------------------------- builds
KUBE_VERSION=$(modversion hack/kube k8s.io/kubernetes)
ISTIO_VERSION=$(modversion hack/istioctl istio.io/istio)
KUBE_DIR=$CACHE/kube/$KUBE_VERSION-$GOVER-$GOARCH
ISTIO_DIR=$CACHE/istioctl/$ISTIO_VERSION-$GOVER-$GOARCH
mkdir -p "$CACHE/kube" "$CACHE/istioctl"

# cached <dir> <binary> <tools dir>: is a complete build of this module there?
cached() { [ -x "$1/$2" ] && [ "$(cat "$1/.modhash" 2>/dev/null)" = "$(modhash "$3")" ]; }

# build <dir> <binary> <tools dir> <package> <ldflags>. Builds into a fresh
# directory and renames it into place, so an interrupted build never leaves a
# binary that a later run would take for a cached one.
build() {
	local dir=$1 bin=$2 mod=$3 pkg=$4 ld=$5 tmp
	tmp=$(mktemp -d "$dir.tmp.XXXXXX") && chmod 755 "$tmp"
	(cd "$ROOT/$mod" && "${GOBUILD[@]}" -ldflags "$ld" -o "$tmp/$bin" "$pkg") || { rm -rf "$tmp"; return 1; }
	modhash "$mod" >"$tmp/.modhash"
	rm -rf "$dir" && mv "$tmp" "$dir"
}

# Without these stamps kube-apiserver reports v0.0.0-master and istioctl "unknown".
KUBE_MINOR=$(echo "$KUBE_VERSION" | cut -d. -f2)
KUBE_LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	KUBE_LD="$KUBE_LD -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$KUBE_MINOR -X $p.gitTreeState=clean"
done
ISTIO_LD="-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION -X istio.io/istio/pkg/version.buildStatus=Clean"

# Two processes running this script must not build into the same entry.
exec 9>"$CACHE/.lock"
flock 9 2>/dev/null || true

T=$(now)
pids=() names=() logs=()
if cached "$KUBE_DIR" kube-apiserver hack/kube; then
	KUBE_STATE=cached
else
	log "building kube-apiserver $KUBE_VERSION (cold: ~6.5 min on 2 cores) -> $KUBE_DIR"
	logs+=("$(mktemp)") names+=(kube-apiserver)
	build "$KUBE_DIR" kube-apiserver hack/kube k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_LD" >"${logs[-1]}" 2>&1 &
	pids+=($!)
	KUBE_STATE=built
fi
if cached "$ISTIO_DIR" istioctl hack/istioctl; then
	ISTIO_STATE=cached
else
	log "building istioctl $ISTIO_VERSION (cold: ~4 min on 2 cores) -> $ISTIO_DIR"
	logs+=("$(mktemp)") names+=(istioctl)
	build "$ISTIO_DIR" istioctl hack/istioctl istio.io/istio/istioctl/cmd/istioctl "$ISTIO_LD" >"${logs[-1]}" 2>&1 &
	pids+=($!)
	ISTIO_STATE=built
fi
# Both builds run at once: each spends a long single-threaded link step that
# the other's compile can use the second core for.
failed=
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		log "build of ${names[$i]} FAILED:"; tail -40 "${logs[$i]}" >&2; failed=1
	fi
	rm -f "${logs[$i]}"
done
[ -z "$failed" ] || die "tool build failed (see above)"
[ ${#pids[@]} -eq 0 ] || log "built ${names[*]} in $(since "$T")s"

# envtest wants one directory holding etcd and kube-apiserver. The symlink is
# refreshed every run: etcd comes from the machine, not from the cache.
ln -sfn "$ETCD" "$KUBE_DIR/etcd"
"$KUBE_DIR/kube-apiserver" --version >&2 || die "cached kube-apiserver does not run: remove $KUBE_DIR"
"$ISTIO_DIR/istioctl" version --remote=false >/dev/null 2>&1 || die "cached istioctl does not run: remove $ISTIO_DIR"

ELAPSED=$(since "$T0")
if [ "$KUBE_STATE$ISTIO_STATE" = cachedcached ]; then MODE=cached; else MODE=cold; fi
log "prepared in ${ELAPSED}s ($MODE: etcd $ETCD_STATE, kube-apiserver $KUBE_STATE, istioctl $ISTIO_STATE)"

# POSIX single quotes, so `.` in sh (make) reads the file as well as bash.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
exports="export KUBEBUILDER_ASSETS=$(shq "$KUBE_DIR")
export INTENTC_ISTIOCTL=$(shq "$ISTIO_DIR/istioctl")"
if [ -n "$ENV_FILE" ]; then
	mkdir -p "$(dirname "$ENV_FILE")"
	printf '%s\n' "$exports" >"$ENV_FILE"
	log "wrote $ENV_FILE"
fi
printf '%s\n' "$exports"
