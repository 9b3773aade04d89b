#!/usr/bin/env bash
# The co_await check must flag exactly the lines marked "flagged" in the
# cases file, and nothing else: a check that cannot fail protects nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cases="$here/co_await_cases.txt"
expected=$(grep -n '// flagged' "$cases" | cut -d: -f1 | tr '\n' ' ')
set +e
found=$("$here/../../scripts/check-co-await" "$cases" 2>/dev/null | cut -d: -f2 | tr '\n' ' ')
rc=$?
set -e
if [ "$rc" -ne 1 ] || [ "$found" != "$expected" ]; then
  echo "check-co-await flagged lines '$found' (rc $rc); expected '$expected' (rc 1)"
  exit 1
fi
echo "check-co-await flags lines $expected of the cases and nothing else"
