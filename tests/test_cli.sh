#!/bin/sh
# tests/test_cli.sh -- fireworksd and fwctl command lines: --check-config on
# the sample and on a broken copy, --help, --version, usage errors.
set -u
. "${FW_SRCDIR:-.}/tests/lib.sh"
check() { # check NAME WANT_RC CMD...
    name=$1; want=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want" ]; then echo "FAIL: $name: exit $rc, want $want: $out"; fail=1; fi
    LAST_OUT=$out
}
d="$builddir/fireworksd"
check "sample config" 0 "$d" -c "$srcdir/etc/fireworksd.yaml" --check-config
check "broken config" 1 "$d" -c "$srcdir/tests/fixtures/broken.yaml" --check-config
echo "$LAST_OUT" | grep -q "broken.yaml:7:20: models\[0\].kv_block_size: expected an integer" ||
    { echo "FAIL: broken config message: $LAST_OUT"; fail=1; }
sed 's/^  port: 8000/  port: 80000/' "$srcdir/etc/fireworksd.yaml" > "$tmp/port.yaml"
check "port out of range" 1 "$d" -c "$tmp/port.yaml" --check-config
line=$(grep -n '^  port: 80000' "$tmp/port.yaml" | cut -d: -f1)
echo "$LAST_OUT" | grep -q ":$line:9: server.port: 80000 is out of range" ||
    { echo "FAIL: port message: $LAST_OUT"; fail=1; }
check "missing config" 1 "$d" -c /nonexistent.yaml --check-config
check "help" 0 "$d" --help
check "version" 0 "$d" --version
echo "$LAST_OUT" | grep -q "plugin ABI 1.1" || { echo "FAIL: version: $LAST_OUT"; fail=1; }
check "bad option" 2 "$d" --no-such-option
check "bad port" 2 "$d" --port 99999 --check-config
check "fwctl help" 0 "$builddir/fwctl" --help
check "fwctl unknown" 2 "$builddir/fwctl" frobnicate
check "fwctl none" 2 "$builddir/fwctl"
if [ $fail -eq 0 ]; then echo "PASS: command lines"; fi
exit $fail
