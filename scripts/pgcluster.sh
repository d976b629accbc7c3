#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test command.
#
#   scripts/pgcluster.sh start OWNER_PID
#       initdb's a cluster in a new temporary directory, starts it on a free
#       loopback port (trust auth, unix socket in the same directory, fsync
#       off: it is thrown away), creates the database "test" (with psql)
#       and prints its URL on stdout. A watcher left in the background stops the server and
#       deletes the directory as soon as process OWNER_PID is gone, however
#       it ended (so the caller's own EXIT traps stay free, and a killed
#       caller leaves nothing behind). Exits 3 when PostgreSQL's server
#       binaries are not installed, 1 when the cluster could not start.
#   scripts/pgcluster.sh stop DIR
#       stops the cluster in DIR (printed on stderr by start) and deletes DIR.
#
# The server binaries (initdb, pg_ctl, postgres) come from PATH, else from
# Debian's /usr/lib/postgresql/<version>/bin (the newest). PostgreSQL refuses
# to run as root: as root the cluster belongs to, and runs as, the user
# "postgres" (or "nobody" when there is none), through runuser or su.
set -euo pipefail

log() { printf 'pgcluster: %s\n' "$*" >&2; }

# find_bin sets bindir to a directory holding initdb and pg_ctl.
find_bin() {
	local d
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
		[[ -x "$bindir/pg_ctl" ]] && return 0
	fi
	# Newest version first (sort -V on the version directory).
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
			bindir=$d
			return 0
		fi
	done
	return 1
}

# as_owner runs a command as the cluster's owner (see the header).
as_owner() {
	if [[ $(id -u) -ne 0 ]]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$owner" -- "$@"
	else
		su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"
	fi
}

pick_owner() {
	owner=$(id -un)
	if [[ $(id -u) -eq 0 ]]; then
		if getent passwd postgres >/dev/null; then owner=postgres; else owner=nobody; fi
	fi
}

# port_free reports whether nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_cluster() {
	local dir=$1
	[[ -d "$dir" ]] || return 0
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

cmd=${1:-}
case "$cmd" in
start)
	owner_pid=${2:?usage: pgcluster.sh start OWNER_PID}
	find_bin || {
		log "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
		exit 3
	}
	pick_owner
	# As root, under /tmp: the owner must be able to reach the directory,
	# which a root-only TMPDIR would not allow.
	base=${TMPDIR:-/tmp}
	[[ $(id -u) -eq 0 ]] && base=/tmp
	dir=$(mktemp -d "$base/assistd-pgcluster.XXXXXX")
	# A unix socket path is limited to about 100 bytes: without room for
	# one, TCP only.
	sockdir=$dir
	((${#dir} > 80)) && sockdir=

	chmod 700 "$dir"
	[[ $(id -u) -eq 0 ]] && chown "$owner" "$dir"
	# Until the watcher owns the directory, a failure here removes it.
	trap 'stop_cluster "$dir"' EXIT

	if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
		--no-sync >"$dir/initdb.log" 2>&1; then
		log "initdb failed:"
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	# A few tries: another process may take the port between the check and
	# the server's bind.
	started=0
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port -k '$sockdir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start >/dev/null 2>&1; then
			started=1
			break
		fi
	done
	if [[ $started != 1 ]]; then
		log "pg_ctl start failed:"
		tail -n 20 "$dir/server.log" >&2 || true
		exit 1
	fi
	# The database "test", as on the CI machine; without psql, the
	# database "postgres" initdb made does as well.
	db=test
	psql=$bindir/psql
	[[ -x "$psql" ]] || psql=$(command -v psql || true)
	if [[ -z "$psql" ]]; then
		db=postgres
	elif ! as_owner "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null 2>&1; then
		log "CREATE DATABASE test failed:"
		tail -n 20 "$dir/server.log" >&2 || true
		exit 1
	fi

	# The watcher: stdio away from the caller's pipes (command substitution
	# waits for them to close), its own session so the caller's terminal
	# signals do not reach it.
	setsid bash "$0" watch "$owner_pid" "$dir" </dev/null >>"$dir/watch.log" 2>&1 &
	trap - EXIT
	log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') in $dir on 127.0.0.1:$port (runs as $owner; stopped and deleted when process $owner_pid ends)"
	echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
	;;
watch)
	owner_pid=$2 dir=$3
	find_bin
	pick_owner
	while kill -0 "$owner_pid" 2>/dev/null && [[ -d "$dir" ]]; do
		sleep 1
	done
	stop_cluster "$dir"
	;;
stop)
	dir=${2:?usage: pgcluster.sh stop DIR}
	find_bin || exit 0
	pick_owner
	stop_cluster "$dir"
	;;
*)
	echo "usage: pgcluster.sh start OWNER_PID | stop DIR" >&2
	exit 2
	;;
esac
