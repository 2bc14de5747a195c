#!/bin/sh
# tests/test_packaging.sh -- what a user of `make install` gets:
#  1. the example sampler plugin (examples/sampler_plugin) builds out of tree
#     with its own Makefile against the INSTALLED headers via pkg-config, and
#     the installed daemon lists it (fireworksd --plugin-dir DIR --list-plugins);
#  2. every installed manual page renders without warnings (man -l, groff -ww).
set -u
. "${FW_SRCDIR:-.}/tests/lib.sh"

if ! ${MAKE:-make} -s -C "$builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1; then
    tail -n 20 "$tmp/install.log"; echo "FAIL: make install"; exit 1
fi
ok "make install DESTDIR=..."

# 1. the example plugin, out of tree, through pkg-config
pcdir=$(find "$tmp/root" -name fireworks-plugin.pc -printf '%h\n' | head -n 1)
daemon=$(find "$tmp/root" -type f -name fireworksd -perm -u+x | head -n 1)
if [ -z "$pcdir" ] || [ -z "$daemon" ]; then
    echo "FAIL: fireworks-plugin.pc or fireworksd not installed"; exit 1
fi
cp -r "$srcdir/examples/sampler_plugin" "$tmp/ex"
chmod -R u+w "$tmp/ex"
rm -f "$tmp/ex/sampler_temp_decay.so"
if PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
        ${MAKE:-make} -C "$tmp/ex" CC="${CC:-cc}" >"$tmp/ex.log" 2>&1; then
    ok "examples/sampler_plugin builds with pkg-config against the installed headers"
else
    cat "$tmp/ex.log"; bad "examples/sampler_plugin build"
fi
if [ -f "$tmp/ex/sampler_temp_decay.so" ]; then
    # One exported symbol, no undefined symbols from fireworksd.
    exported=$(nm -D --defined-only "$tmp/ex/sampler_temp_decay.so" | awk '$2 == "T" {print $3}')
    [ "$exported" = fw_plugin_entry ] && ok "exports only fw_plugin_entry" ||
        bad "exported text symbols: $exported"
    undef=$(nm -D --undefined-only "$tmp/ex/sampler_temp_decay.so" | awk '{print $2}' | grep '^fw_' || true)
    [ -z "$undef" ] && ok "links no fireworksd symbol" || bad "undefined fireworksd symbols: $undef"
    out=$(FIREWORKSD_PLUGIN_PATH= "$daemon" --plugin-dir "$tmp/ex" --list-plugins 2>&1)
    echo "$out" | sed 's/^/# /'
    echo "$out" | grep -q "^temp_decay  *sampler  *1.0.0  *1.1  *$tmp/ex/sampler_temp_decay.so" &&
        ok "installed fireworksd lists the example plugin" || bad "example plugin not listed"
    # Drive it through the ABI as the host would: dlopen, entry, create,
    # sample with a grammar mask, accept until the temperature is 0 (greedy).
    cat >"$tmp/drive.c" <<'C'
#include <fireworks/sampler.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static void *h_alloc(size_t n) { return malloc(n); }
static void h_free(void *p) { free(p); }
static uint64_t h_clock(void) { return (uint64_t)time(NULL); }
int main(int argc, char **argv)
{
    fw_host_api host = {sizeof host, FW_ABI_MAJOR, FW_ABI_MINOR, NULL, h_alloc, h_free,
                        NULL, NULL, NULL, h_clock, NULL};
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    fw_plugin_entry_fn entry = so ? (fw_plugin_entry_fn)(uintptr_t)dlsym(so, FW_PLUGIN_ENTRY_SYMBOL) : NULL;
    const fw_plugin_desc *d = entry ? entry(&host) : NULL;
    const fw_sampler_vtable *vt;
    fw_sampling_params p = {0};
    fw_sample_result r = {0};
    fw_sampler *s = NULL;
    fw_err err = {0};
    float logits[8];
    uint32_t mask = 0xffu & ~(1u << 5); /* token 5, the best, is not allowed */
    int i, seen_other = 0;
    (void)argc;
    if (!d || d->kind != FW_PLUGIN_SAMPLER) { printf("no sampler descriptor\n"); return 1; }
    vt = d->vtable;
    p.struct_size = sizeof p; p.n_vocab = 8; p.temperature = 1.5f; p.top_k = 3;
    p.seed = 7; p.has_seed = 1; p.top_logprobs = 2;
    if (vt->create(&p, &s, &err) != FW_OK) { printf("create: %s\n", err.msg); return 1; }
    r.struct_size = sizeof r;
    for (i = 0; i < 300; i++) {
        int t;
        for (t = 0; t < 8; t++) logits[t] = (float)t * 0.1f;
        logits[5] = 3.0f;
        if (vt->sample(s, logits, &mask, &r, &err) != FW_OK) { printf("sample: %s\n", err.msg); return 1; }
        if (r.token == 5 || r.token < 0 || r.token > 7) { printf("masked token %d\n", r.token); return 1; }
        if (i < 64 && r.token != 7) seen_other = 1;
        if (i >= 256 && r.token != 7) { printf("not greedy after the decay: %d\n", r.token); return 1; }
        if (!(r.logprob < 0) || r.n_top != 2 || r.top_token[0] != 5) { printf("bad logprobs\n"); return 1; }
        vt->accept(s, r.token);
    }
    if (!seen_other) { printf("never sampled at temperature 1.5\n"); return 1; }
    vt->destroy(s);
    printf("temp_decay: masked, sampled, then greedy\n");
    return 0;
}
C
    if ${CC:-cc} -std=c11 -Wall -Werror -I"$(dirname "$(find "$tmp/root" -path '*/include/fireworks' | head -n 1)")" \
            "$tmp/drive.c" -o "$tmp/drive" -ldl -lm >"$tmp/drive.log" 2>&1 &&
       "$tmp/drive" "$tmp/ex/sampler_temp_decay.so" >>"$tmp/drive.log" 2>&1; then
        ok "$(tail -n 1 "$tmp/drive.log")"
    else
        cat "$tmp/drive.log"; bad "example plugin through the sampler ABI"
    fi
    # make install puts it where pkg-config says the daemon looks.
    plugindir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=plugindir fireworks-plugin)
    # (no sysroot here: pkgconf would prefix it to plugindir, and DESTDIR does that)
    PKG_CONFIG_PATH="$pcdir" ${MAKE:-make} -s -C "$tmp/ex" install DESTDIR="$tmp/root" >/dev/null 2>&1 &&
        test -f "$tmp/root$plugindir/sampler_temp_decay.so" &&
        ok "example 'make install' -> \$(plugindir)" || bad "example make install"
fi

# 2. manual pages: installed, and rendering without warnings
for page in man8/fireworksd.8 man5/fireworksd.yaml.5 man1/fwctl.1 man3/fireworks-plugin.3; do
    f=$(find "$tmp/root" -path "*/share/man/$page" | head -n 1)
    if [ -z "$f" ]; then
        bad "$page not installed"
        continue
    fi
    if command -v groff >/dev/null; then
        w=$(groff -man -ww -z "$f" 2>&1)
        [ -z "$w" ] && ok "groff -man -ww $page: no warnings" || bad "groff $page: $w"
    fi
    if command -v man >/dev/null; then
        w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" 2>&1 >/dev/null)
        lines=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$f" 2>/dev/null | wc -l)
        [ -z "$w" ] && [ "$lines" -gt 20 ] && ok "man -l $page renders ($lines lines)" ||
            bad "man -l $page: $w ($lines lines)"
    fi
    if ! command -v groff >/dev/null && ! command -v man >/dev/null; then
        echo "# no groff or man: install groff-base / man-db to check $page"
    fi
done

# 3. fireworksd.yaml(5) documents exactly the keys core/config.c accepts
#    (its field tables: {"key", F_...}); each documented key is a .TP entry
#    starting ".BR key " or ".B key".
man5=$srcdir/doc/man/fireworksd.yaml.5
keys=$(grep -o '{"[a-z_]*", F_' "$srcdir/core/config.c" | sed 's/{"\([a-z_]*\)".*/\1/' | sort -u)
documented=$(awk 'prev == ".TP" && /^\.BR? [a-z_]+/ { n = split($0, w, /[ ,"]+/); for (i = 2; i <= n; i++) if (w[i] ~ /^[a-z_]+$/ && w[i] !~ /^(default|string|size|map|list|of|strings|names|all|none|auto|tokens|required|inferred|the|s|model|logfmt|json|error|warn|info|debug|f32|bf16|f16|standard)$/) print w[i] } { prev = $0 }' "$man5" | sort -u)
if [ -z "$keys" ]; then
    bad "no config keys found in core/config.c"
else
    missing=$(for k in $keys; do echo "$documented" | grep -qx "$k" || printf ' %s' "$k"; done)
    extra=$(for k in $documented; do echo "$keys" | grep -qx "$k" || printf ' %s' "$k"; done)
    [ -z "$missing" ] && ok "fireworksd.yaml(5) documents every config key" || bad "undocumented config keys:$missing"
    [ -z "$extra" ] && ok "fireworksd.yaml(5) documents no unknown key" || bad "documented but not accepted:$extra"
fi

# 4. fireworksd(8) and fwctl(1) name every option and subcommand the code has.
opts=$(grep -o '{"[a-z-]*", *[a-z_]*argument' "$srcdir/core/main.c" | sed 's/{"\([a-z-]*\)".*/\1/')
missing=
for o in $opts; do
    # roff writes --list-plugins as \-\-list\-plugins
    needle="\\-\\-$(printf '%s' "$o" | sed 's/-/\\-/g')"
    grep -qF -- "$needle" "$srcdir/doc/man/fireworksd.8" || missing="$missing --$o"
done
[ -n "$opts" ] && [ -z "$missing" ] && ok "fireworksd(8) documents every option" || bad "fireworksd(8) lacks:$missing"
cmds=$(sed -n '/commands\[\] = {/,/^};/p' "$srcdir/tools/fwctl/main.c" | grep -o '{"[a-z]*"' | tr -d '{"')
missing=
for c in $cmds; do
    grep -q "^\.B $c " "$srcdir/doc/man/fwctl.1" || missing="$missing $c"
done
[ -n "$cmds" ] && [ -z "$missing" ] && ok "fwctl(1) documents every command" || bad "fwctl(1) lacks:$missing"

[ $fail = 0 ] && echo "PASS: packaging" || echo "FAIL: packaging"
exit $fail
