#!/usr/bin/env bash
# The shipped unit (issue 14): `systemd-analyze security --offline=true`
# rates its exposure at most 1.5, `systemd-analyze verify` is clean with its
# commands pointing at the built daemon (man pages: checked on the installed
# package by package_deb.sh), and it keeps what the daemon needs. The same
# unit stripped of its sandbox must rate above 1.5: the check can fail.
#   unit_security.sh UNIT_FILE LAPORSMSD_BINARY
set -euo pipefail
unit=$1
binary=$(realpath "$2")
limit=1.5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# The overall exposure, e.g. "1.1", of the unit file given.
exposure() {
  local report
  report=$(systemd-analyze security --offline=true --no-pager "$1" 2>&1) || true
  sed -n -E 's/^→ Overall exposure level for [^:]*: ([0-9]+\.[0-9]+).*/\1/p' <<<"$report"
}
above_limit() { awk -v x="$1" -v lim="$limit" 'BEGIN { exit !(x > lim) }'; }

cp "$unit" "$work/laporsmsd.service"
score=$(exposure "$work/laporsmsd.service")
systemd-analyze security --offline=true --no-pager "$work/laporsmsd.service" 2>&1 | grep -E '^✗|^→' || true
if [ -z "$score" ]; then
  fail "systemd-analyze security printed no overall exposure level"
elif above_limit "$score"; then
  fail "exposure $score is above $limit"
fi

# Negative control: without the sandbox (everything after "# The sandbox")
# the same unit must rate above the limit.
mkdir "$work/unsandboxed"
sed '/^# The sandbox/,/^\[Install\]/{/^\[Install\]/!d}' "$unit" >"$work/unsandboxed/laporsmsd.service"
loose=$(exposure "$work/unsandboxed/laporsmsd.service")
if [ -z "$loose" ] || ! above_limit "$loose"; then
  fail "the unit without its sandbox rates '$loose', not above $limit: the check cannot fail"
fi
echo "exposure: $score (at most $limit); without the sandbox: $loose"

# verify: clean, with ExecStart*= at the built binary.
mkdir "$work/verify"
sed "s#/usr/sbin/laporsmsd#$binary#g" "$unit" >"$work/verify/laporsmsd.service"
if ! out=$(systemd-analyze verify --man=no "$work/verify/laporsmsd.service" 2>&1) || [ -n "$out" ]; then
  fail "systemd-analyze verify: $out"
fi

# What the daemon needs, still there.
for line in 'Type=notify' 'WatchdogSec=30' 'ExecStartPre=/usr/sbin/laporsmsd --check-config' \
  'ExecStart=/usr/sbin/laporsmsd' 'User=laporsms' 'StateDirectory=laporsms' \
  'RuntimeDirectory=laporsms' 'ConfigurationDirectoryMode=0750' \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
  'LoadCredential=smpp-password:/etc/laporsms/credentials/smpp-password' \
  'LoadCredential=lapor-token:/etc/laporsms/credentials/lapor-token'; do
  grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "unit ok: exposure $score, verify clean"
