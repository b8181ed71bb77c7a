#!/bin/sh
# Runs the test binary twice — plain build, then AddressSanitizer + UBSan — and prints one
# total line "N passed, N failed". Exits non-zero if anything failed.
set -u
B=${1:-build}
total_pass=0
total_fail=0
run() { # label, test binary, glassbox binary
    echo "== $1" >&2
    out=$(GB_BIN="$3" "$2" 2>&1 >/tmp/glassbox-tests.$$ ; echo "rc=$?")
    summary=$(tail -n 1 /tmp/glassbox-tests.$$)
    rm -f /tmp/glassbox-tests.$$
    printf '%s\n' "$out" | grep -v '^rc=' | grep -v '^ok  ' >&2
    echo "$1: $summary" >&2
    p=$(printf '%s' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(printf '%s' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then p=0; f=1; echo "$1: test binary did not finish ($out)" >&2; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 export ASAN_OPTIONS UBSAN_OPTIONS
run "tests" "$B/tests" "$B/glassbox"
run "tests under ASan+UBSan" "$B/san/tests" "$B/san/glassbox"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
