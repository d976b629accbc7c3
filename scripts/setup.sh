#!/usr/bin/env bash
# Installs what the code_interpreter sandbox needs (bubblewrap and Debian's
# Python 3 scientific packages), with apt-get, when missing. Idempotent and
# quiet when everything is present. As root it installs; otherwise it prints
# the command to run and exits 0 (the sandbox tests then skip, loudly).
set -euo pipefail

packages=(bubblewrap python3 python3-numpy python3-pandas python3-matplotlib python3-scipy python3-openpyxl python3-pil)

installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "setup: not a Debian-like system (no apt-get); install bubblewrap and python3 with numpy, pandas, matplotlib, scipy, openpyxl, PIL yourself" >&2
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "setup: sandbox packages present"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "setup: WARNING: missing ${missing[*]}; as root run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	echo "setup: the code_interpreter sandbox tests will be skipped" >&2
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when one of the packages is unknown to them.
for p in "${missing[@]}"; do
	if ! apt-cache show "$p" >/dev/null 2>&1; then
		echo "setup: apt-get update"
		apt-get update -qq >/dev/null
		break
	fi
done
echo "setup: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	# Stale package lists (a mirror moved on): refresh once and retry.
	apt-get update -qq >/dev/null
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		echo "setup: apt-get install failed" >&2
		exit 1
	fi
fi
echo "setup: done"
