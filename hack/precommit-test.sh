#!/usr/bin/env bash
# Runs the hooks of .pre-commit-hooks.yaml the way pre-commit runs them, on a
# scratch intent repository, and checks what they report.
#
#   hack/precommit-test.sh [--keep]
#
# What pre-commit does, and this script with it (pre-commit 3.x,
# languages/golang.py and commands/run.py):
#   - language: golang installs the hook repository with `go install ./...`
#     into the hook environment's bin/, which goes first on PATH. (pre-commit
#     sets GOPATH to the environment, so it also downloads the modules again;
#     this script keeps the machine's module and build caches, which changes
#     nothing but the time.)
#   - the files are the staged ones (git diff --staged --name-only, deleted
#     files left out), filtered by the hook's files/exclude regexes and its
#     types/types_or tags, passed relative to the repository root, from the
#     repository root, after entry and args; pass_filenames: false passes
#     none; a hook with no file left does not run.
#   - unstaged changes are set aside while the hooks run (the staged content
#     is what is checked) and put back afterwards.
#
# Prints "ok N - what" or "not ok N - what" per check, then
# "N passed, M failed"; exits 1 if any failed. --keep leaves the scratch
# directory for a look.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
keep=false
[[ ${1:-} == --keep ]] && keep=true

work=$(mktemp -d "${TMPDIR:-/tmp}/intentc-precommit.XXXXXX")
cleanup() {
	if $keep; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[[ -n ${2:-} ]] && sed 's/^/#   /' <<<"$2"
	return 0
}

# --- the hook environment: language golang -------------------------------
env_dir=$work/env
mkdir -p "$env_dir/bin"
echo "# go install ./... from $root into the hook environment"
(cd "$root" && GOBIN="$env_dir/bin" go install ./...)
[[ -x $env_dir/bin/intentc ]] || { echo "not ok - go install did not produce intentc"; exit 1; }

# --- the hooks, read from .pre-commit-hooks.yaml --------------------------
# The file is a flat list of mappings of scalars and flow lists; each hook
# becomes one line of fields separated by US (\037, not whitespace, so an
# empty field stays a field): id, entry, files, exclude, types, types_or,
# pass_filenames, always_run, language.
hooks=$(awk '
	function flush() {
		if (id != "") printf "%s\037%s\037%s\037%s\037%s\037%s\037%s\037%s\037%s\n", id, entry, files, exclude, types, types_or, pass, always, language
		id = ""; entry = ""; files = ""; exclude = "^$"; types = "file"; types_or = ""; pass = "true"; always = "false"; language = ""
	}
	function value(s) {
		sub(/^[^:]*:[ \t]*/, "", s)
		gsub(/^["\047]|["\047]$/, "", s)
		gsub(/[][]/, "", s); gsub(/,[ \t]*/, " ", s)
		return s
	}
	BEGIN { flush() }
	/^[ \t]*#/ || /^[ \t]*$/ { next }
	/^- id:/ { flush(); id = value(substr($0, 3)); next }
	/^  entry:/ { entry = value($0) }
	/^  files:/ { files = value($0) }
	/^  exclude:/ { exclude = value($0) }
	/^  types:/ { types = value($0) }
	/^  types_or:/ { types_or = value($0) }
	/^  pass_filenames:/ { pass = value($0) }
	/^  always_run:/ { always = value($0) }
	/^  language:/ { language = value($0) }
	END { flush() }
' "$root/.pre-commit-hooks.yaml")
for id in intentc-lint intentc-check; do
	grep -q "^$id"$'\037' <<<"$hooks" || { echo "not ok - hook $id is not in .pre-commit-hooks.yaml"; exit 1; }
done
while IFS=$'\037' read -r id _ _ _ _ _ _ _ language; do
	[[ $language == golang ]] && ok "hook $id is language: golang" || notok "hook $id is language: $language, not golang"
done <<<"$hooks"

# tags returns identify's tags for a path, for the types we use.
tags() {
	case $1 in
	*.yaml | *.yml) echo "file text yaml" ;;
	*.json) echo "file text json" ;;
	*) echo "file" ;;
	esac
}

# selected prints the staged files a hook gets, one per line.
selected() { # files exclude types types_or
	local f t all any
	git diff --staged --name-only --no-ext-diff -z --diff-filter=ACMRTUXB | tr '\0' '\n' | while read -r f; do
		[[ -z $f ]] && continue
		[[ -n $1 ]] && ! grep -Eq -- "$1" <<<"$f" && continue
		grep -Eq -- "$2" <<<"$f" && continue
		t=" $(tags "$f") "
		all=true
		for x in $3; do [[ $t == *" $x "* ]] || all=false; done
		$all || continue
		if [[ -n $4 ]]; then
			any=false
			for x in $4; do [[ $t == *" $x "* ]] && any=true; done
			$any || continue
		fi
		echo "$f"
	done
}

# run_hook ID: runs one hook on the staged content of the repository in the
# working directory; sets out (stdout and stderr) and rc.
run_hook() {
	local line entry files exclude types types_or pass always patch
	line=$(grep "^$1"$'\037' <<<"$hooks")
	IFS=$'\037' read -r _ entry files exclude types types_or pass always _ <<<"$line"
	local -a argv
	read -r -a argv <<<"$entry"
	local -a chosen=()
	mapfile -t chosen < <(selected "$files" "$exclude" "$types" "$types_or")
	last_args=("${argv[@]}")
	if [[ ${#chosen[@]} -eq 0 && $always != true ]]; then
		out="(no files to check)" rc=0
		return
	fi
	[[ $pass == true ]] && argv+=("${chosen[@]}")
	# Unstaged changes aside, as pre-commit's staged_files_only does.
	patch=$work/unstaged.patch
	git diff --binary --no-color --no-ext-diff >"$patch"
	[[ -s $patch ]] && git checkout -q -- .
	set +e
	out=$(PATH="$env_dir/bin:$PATH" "${argv[@]}" 2>&1)
	rc=$?
	set -e
	[[ -s $patch ]] && git apply --whitespace=nowarn "$patch"
	last_args=("${argv[@]}")
}

# expect ID RC WHAT [PATTERN...]: the hook exits RC and prints every
# PATTERN (grep -E); a PATTERN starting with ! must not be printed.
expect() {
	local id=$1 want=$2 what=$3
	shift 3
	run_hook "$id"
	local bad=""
	[[ $rc == "$want" ]] || bad="exit $rc, want $want"
	for p in "$@"; do
		if [[ $p == !* ]]; then
			grep -Eq -- "${p:1}" <<<"$out" && bad+="${bad:+; }printed ${p:1}"
		else
			grep -Eq -- "$p" <<<"$out" || bad+="${bad:+; }did not print $p"
		fi
	done
	if [[ -z $bad ]]; then ok "$id: $what"; else notok "$id: $what ($bad)" "$ $(printf '%q ' "${last_args[@]}")"$'\n'"$out"; fi
}

# --- a scratch intent repository ------------------------------------------
repo=$work/repo
mkdir -p "$repo"
cp -R "$root/examples/cross-cloud/intents" "$repo/intents"
cp "$root/examples/cross-cloud/.intentc.yaml" "$repo/.intentc.yaml"
mkdir -p "$repo/.github/workflows" "$repo/manifests"
printf 'name: ci\non: [push]\njobs: {}\n' >"$repo/.github/workflows/ci.yaml"
cat >"$repo/manifests/destinationrule.yaml" <<'EOF'
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
EOF
cd "$repo"
git init -q
git config user.email precommit@example.com
git config user.name precommit
git config commit.gpgsign false
"$env_dir/bin/intentc" compile >/dev/null
git add -A
git commit -q -m "intent and its output"
reset() { git reset -q --hard && git clean -qfd; }

# 1. A harmless change passes both hooks.
sed -i '1s/^/# reviewed\n/' intents/inventory.yaml
git add intents/inventory.yaml
expect intentc-lint 0 "a comment in an intent file passes"
expect intentc-check 0 "a comment changes no output" "up to date"
reset

# 2. A broken intent file fails both, at its file:line:col.
sed -i 's/^  placement:/  placment:/' intents/inventory.yaml
git add intents/inventory.yaml
expect intentc-lint 1 "an unknown field is reported in the staged file" \
	'^intents/inventory.yaml:[0-9]+:[0-9]+: error: .*placment.* \[IC1002\]$'
expect intentc-check 1 "an intent that does not compile fails the check" '\[IC1002\]'
reset

# 3. Only the staged content counts: a broken unstaged file is set aside,
#    and put back afterwards.
sed -i '1s/^/# reviewed\n/' intents/inventory.yaml
git add intents/inventory.yaml
sed -i 's/^  placement:/  placment:/' intents/frontend.yaml
expect intentc-lint 0 "an unstaged broken file is not checked" '!IC1002'
expect intentc-check 0 "nor compiled"
if grep -q '^  placment:' intents/frontend.yaml; then ok "the unstaged change is put back"; else notok "the unstaged change was lost"; fi
reset

# 4. A change to what the intent means, staged without recompiling: lint
#    passes, the check says the output is stale, until out/ is recompiled
#    and staged.
sed -i 's/weight: 70/weight: 60/; s/weight: 30/weight: 40/' intents/inventory.yaml
git add intents/inventory.yaml
expect intentc-lint 0 "a valid new split passes lint"
expect intentc-check 1 "the committed output is stale" "stale"
"$env_dir/bin/intentc" compile >/dev/null
git add -A
expect intentc-check 0 "recompiled and staged, the output is current" "up to date"
reset

# 5. A hand edit of the generated tree: lint reports it at the line in out/
#    (the whole out/clusters/<cluster>/ is read for the bundle rules), and
#    the check reports the drift.
pa=out/clusters/public-prod/prod/peerauthentication-default.yaml
sed -i 's/mode: STRICT/mode: PERMISSIVE/' "$pa"
git add "$pa"
expect intentc-lint 1 "a weakened PeerAuthentication in out/ is reported there" \
	"^$pa:[0-9]+:[0-9]+: error: .*PERMISSIVE.* \\[IC4005\\]$" '!IC4013'
expect intentc-check 1 "the edited output no longer matches the intent" "stale"
reset

# 6. A hand-written VirtualService, staged alone: judged with the
#    DestinationRule beside it (committed, not staged).
cat >manifests/virtualservice.yaml <<'EOF'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
    - route:
        - {destination: {host: reviews, subset: v1}, weight: 60}
        - {destination: {host: reviews, subset: v3}, weight: 40}
EOF
git add manifests/virtualservice.yaml
expect intentc-lint 1 "a hand-written VirtualService's missing subset is reported" \
	'^manifests/virtualservice.yaml:9:[0-9]+: error: .*subset "v3".* \[IC4011\]$' '!subset "v1"' '!manifests/destinationrule.yaml'
reset

# 7. YAML that is neither intent nor manifest passes; a misspelt intentc
#    apiVersion does not.
printf 'name: ci\non: [push, pull_request]\njobs: {}\n' >.github/workflows/ci.yaml
git add .github/workflows/ci.yaml
expect intentc-lint 0 "a CI workflow passes"
reset
printf 'apiVersion: intentc.dev/v1alpah1\nkind: MeshService\nmetadata: {name: x, namespace: prod}\n' >intents/typo.yaml
git add intents/typo.yaml
expect intentc-lint 1 "a misspelt apiVersion is an error" '^intents/typo.yaml:1:13: error: .*\[IC1007\]$'
reset

# 8. Nothing the hooks look at is staged: they do not run.
printf 'notes\n' >README.md
git add README.md
expect intentc-lint 0 "a Markdown file alone runs nothing" "no files to check"
reset

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
