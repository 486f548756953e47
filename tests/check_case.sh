#!/bin/sh
# One data-driven import case: runs `romtrack check` on a fixture (from its own directory,
# so that file names in the output are bare) and compares with the expected result.
#   check_case.sh ROMTRACK FIXTURE EXPECTED
# EXPECTED.jsonl: the normalised cards, exit status 0.  EXPECTED.err: the error, exit status 1.
set -u
bin=$1 fixture=$2 expected=$3
dir=$(dirname "$fixture")
name=$(basename "$fixture")
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
(cd "$dir" && "$bin" check "$name") >"$out" 2>"$err"
status=$?
case "$expected" in
*.jsonl)
	if [ "$status" -ne 0 ]; then
		echo "romtrack check failed (status $status):"; cat "$err"; exit 1
	fi
	diff -u "$expected" "$out" || exit 1
	;;
*.err)
	if [ "$status" -ne 1 ]; then
		echo "expected exit status 1, got $status"; cat "$err"; exit 1
	fi
	diff -u "$expected" "$err" || exit 1
	;;
*)
	echo "unknown kind of expected file: $expected"; exit 2
	;;
esac
