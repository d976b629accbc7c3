#!/usr/bin/env bash
# The project's test command (also what CI runs, via .ci/run):
#   1. gofmt     - every Go file is formatted
#   2. go vet    - static checks
#   3. go test   - all Go tests, with the race detector when a C toolchain is
#                  available (-race needs cgo); set ASSISTD_TEST_RACE=0 to
#                  skip it, =1 to insist on it. The PostgreSQL suites (store
#                  contract, serve --database, chaos) use
#                  ASSISTD_TEST_DATABASE_URL, else
#                  postgres://postgres@127.0.0.1:5432/test (trust auth) when
#                  it answers, else a throwaway cluster (scripts/pgcluster.sh)
#                  when PostgreSQL's server binaries are installed; each test
#                  in a fresh schema it drops; when none is to be had they
#                  are skipped, loudly, unless ASSISTD_TEST_POSTGRES=1 (set
#                  by .ci/run) or ASSISTD_TEST_DATABASE_URL insists
#   4. conformance - the official SDKs against a live server
#                  (test/conformance, when it exists; needs Node >= 20):
#                  once on SQLite, then once more on PostgreSQL (the same
#                  database as the PostgreSQL suites, one fresh schema per
#                  server) when that database answers
# It needs only Go and Node on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
start=$SECONDS

command -v go >/dev/null || fail "go is not on PATH"
go version

section "setup (scripts/setup.sh: the sandbox's packages)"
./scripts/setup.sh

section "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -print0 | xargs -0 -r gofmt -l)
if [[ -n "$unformatted" ]]; then
	printf '%s\n' "$unformatted" >&2
	fail "the files above are not gofmt-formatted (run: gofmt -w FILE)"
fi
echo "ok"

section "go vet ./..."
go vet ./...
echo "ok"

race=()
case "${ASSISTD_TEST_RACE:-auto}" in
0) ;;
1) race=(-race) ;;
*)
	if [[ "$(go env CGO_ENABLED)" == 1 ]] && command -v "$(go env CC)" >/dev/null; then
		race=(-race)
	else
		echo "note: no C compiler for cgo, running go test without -race (apt-get install gcc to enable it)" >&2
	fi
	;;
esac

section "PostgreSQL"
# The database: ASSISTD_TEST_DATABASE_URL when set; else the local default
# (ASSISTD_TEST_DEFAULT_URL overrides it, e.g. to test the fallback) when it
# answers; else a throwaway cluster (scripts/pgcluster.sh) when PostgreSQL's
# server binaries are installed, stopped and deleted when this script ends.
# The choice is exported as ASSISTD_TEST_DATABASE_URL for everything below.
pg_ok=0
if [[ -z "${ASSISTD_TEST_DATABASE_URL:-}" ]]; then
	default_url="${ASSISTD_TEST_DEFAULT_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
	if pgline=$(ASSISTD_TEST_DATABASE_URL="$default_url" go run ./internal/store/postgres/pgtest/pgprobe 2>&1); then
		export ASSISTD_TEST_DATABASE_URL="$default_url"
	else
		printf '%s\n' "$pgline"
		echo "starting a throwaway PostgreSQL cluster (scripts/pgcluster.sh)"
		pgc_rc=0
		pgc_url=$(./scripts/pgcluster.sh start $$) || pgc_rc=$?
		if [[ $pgc_rc == 0 ]]; then
			export ASSISTD_TEST_DATABASE_URL="$pgc_url"
		elif [[ $pgc_rc == 3 ]]; then
			printf '\n!!! no PostgreSQL server binaries installed (apt-get install postgresql), so no throwaway cluster\n' >&2
		else
			printf '\n!!! THE THROWAWAY POSTGRESQL CLUSTER DID NOT START (see above)\n' >&2
		fi
	fi
fi
if pgline=$(ASSISTD_TEST_DATABASE_URL="${ASSISTD_TEST_DATABASE_URL:-${default_url:-}}" go run ./internal/store/postgres/pgtest/pgprobe 2>&1); then
	echo "$pgline"
	pg_ok=1
	# Reachable now: a test that finds it unreachable later fails, not skips.
	export ASSISTD_TEST_POSTGRES=1
elif [[ -n "${ASSISTD_TEST_DATABASE_URL:-}" || "${ASSISTD_TEST_POSTGRES:-}" == 1 ]]; then
	printf '%s\n' "$pgline" >&2
	fail "the PostgreSQL suites must run (ASSISTD_TEST_DATABASE_URL or ASSISTD_TEST_POSTGRES=1) but the database is unreachable"
else
	printf '\n!!! %s\n!!! SKIPPING THE POSTGRESQL SUITES: set ASSISTD_TEST_DATABASE_URL=postgres://… to run them\n\n' \
		"$(head -n1 <<<"$pgline")" >&2
fi
pg_url="${ASSISTD_TEST_DATABASE_URL:-}"

section "go test ${race[*]} -count=1 ./..."
go test "${race[@]}" -count=1 -timeout 15m ./...

if [[ -f test/conformance/package.json ]]; then
	section "conformance (test/conformance: npm ci)"
	command -v npm >/dev/null || fail "npm is not on PATH (the conformance suite needs Node >= 20)"
	(
		cd test/conformance
		if [[ -f package-lock.json ]]; then
			npm ci --no-audit --no-fund
		else
			npm install --no-audit --no-fund
		fi
	)
	conf_tmp=$(mktemp -d)
	trap 'rm -rf "$conf_tmp"' EXIT
	go build -o "$conf_tmp/assistd" ./cmd/assistd
	go build -o "$conf_tmp/pgschema" ./test/conformance/pgschema
	export ASSISTD_BIN="$conf_tmp/assistd" ASSISTD_PGSCHEMA_BIN="$conf_tmp/pgschema"

	section "conformance on SQLite (npm test)"
	(cd test/conformance && env -u ASSISTD_CONFORMANCE_DATABASE_URL npm test)

	if [[ $pg_ok == 1 ]]; then
		section "conformance on PostgreSQL (npm test, ASSISTD_CONFORMANCE_DATABASE_URL)"
		(cd test/conformance && ASSISTD_CONFORMANCE_DATABASE_URL="$pg_url" npm test)
	else
		printf '\n!!! SKIPPING THE CONFORMANCE SUITE ON POSTGRESQL: the database is unreachable (see above)\n\n' >&2
	fi
else
	section "conformance: skipped (no test/conformance/package.json yet)"
fi

section "all tests passed in $((SECONDS - start))s"
