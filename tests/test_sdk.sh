#!/bin/sh
# tests/test_sdk.sh -- a third-party plugin built out of tree against the
# INSTALLED headers through pkg-config, then listed by the installed daemon.
set -eu
. "${FW_SRCDIR:-.}/tests/lib.sh"

${MAKE:-make} -s -C "$builddir" install DESTDIR="$tmp/root" >/dev/null
pcdir=$(find "$tmp/root" -name fireworks-plugin.pc -printf '%h\n' | head -n 1)
test -n "$pcdir" || { echo "FAIL: fireworks-plugin.pc was not installed"; exit 1; }
test -f "$(find "$tmp/root" -path '*/include/fireworks/plugin.h' | head -n 1)" ||
    { echo "FAIL: headers were not installed"; exit 1; }

cflags=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$tmp/root" pkg-config --cflags fireworks-plugin)
mkdir "$tmp/plugins"
${CC:-cc} -std=c11 -Wall -Werror -shared -fPIC $cflags "$srcdir/tests/fake/sample_plugin.c" \
    -o "$tmp/plugins/sample.so"

daemon=$(find "$tmp/root" -type f -name fireworksd | head -n 1)
out=$(FIREWORKSD_PLUGIN_PATH= "$daemon" --plugin-dir "$tmp/plugins" --list-plugins)
echo "$out"
echo "$out" | grep -q "^sdk_sample  *sampler  *1.0.0  *1.1  *$tmp/plugins/sample.so" ||
    { echo "FAIL: out-of-tree plugin not listed"; exit 1; }
echo "PASS: out-of-tree plugin built with pkg-config and listed"
