#!/bin/sh
# Runs every unit test program given on the command line, then the end-to-end tests, and
# closes with one line "N passed, N failed" summing the cmocka results of all programs.
# A program that crashes or exits non-zero counts as failed even if it printed no summary.
set -u
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
    echo "== $t"
    SG_BIN=build/san/safegrid "$t" 2>&1 | tee "$log"
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    n=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    if [ -n "$f" ]; then
        failed=$((failed + f))
    elif [ -z "$p" ] || grep -q "ERROR: \(Address\|Undefined\)Sanitizer\|runtime error:" "$log"; then
        failed=$((failed + ${n:-1}))
        passed=$((passed - ${p:-0}))
        echo "!! $t did not finish cleanly"
    fi
done
if [ -x tests/e2e/run.sh ]; then
    echo "== tests/e2e"
    tests/e2e/run.sh 2>&1 | tee "$log"
    p=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-1}))
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
