#!/bin/sh
# tests/test_preempt.sh -- KV-cache preemption is invisible to clients.  One
# server serves the same random-weight Qwen3 twice: "big" with room for
# everything, "small" with a 16-block KV cache (256 tokens) that several long
# generations cannot share.  Each request run alone on "big" is the reference;
# run all at once on "small", sequences are preempted (their blocks freed)
# and recomputed later, and every answer must still be 200 and identical to
# its reference: tokens, text and usage, greedy and seeded sampling, n=2
# choices sharing their prompt blocks, speculative drafts.  (Not logprobs:
# the cpu backend's matmuls round differently with the batch's shape, in
# the last bit.)  The preemption counter must move, nothing may stay running
# or hold blocks afterwards, and a prompt longer than the whole small cache
# gets the context-length error, not a stall.
. "${FW_SRCDIR:-.}/tests/lib.sh"
fw_need_plugins backend_cpu template_qwen3 sampler_standard
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
fw_make_model 5
port=$((10000 + ($$ * 3 + 2000) % 22000))
cat > "$tmp/fw.yaml" <<YAML
server:
  port: $port
  queue_depth: 64
models:
  - name: big
    path: $tmp/qwen3
    backend: cpu
    kv_cache_bytes: 8MiB
  - name: small
    path: $tmp/qwen3
    backend: cpu
    kv_cache_bytes: 256KiB
    kv_block_size: 16
    prefill_chunk: 32
YAML
fw_start_server "$tmp/fw.yaml"
grep -q 'small: kv cache 16 blocks\|small: backend cpu, kv cache 16 blocks' "$tmp/server.log" ||
    bad "small model: expected a 16-block cache: $(grep 'small:' "$tmp/server.log" | head -c 300)"

# body I MODEL: request I (odd: seeded sampling at temperature 0.9; even:
# greedy; I = 3: n = 2), 120 tokens whatever the model says
body() {
    temp=0.9
    [ $(($1 % 2)) = 0 ] && temp=0
    n=1
    [ "$1" = 3 ] && n=2
    printf '{"model":"%s","messages":[{"role":"user","content":"Tell story %s, chapter %s"}],' "$2" "$1" "$1"
    printf '"max_tokens":120,"ignore_eos":true,"temperature":%s,"seed":%s,"n":%s,' "$temp" "$((7 * $1))" "$n"
    printf '"return_token_ids":true}'
}
req() { # req I MODEL OUT -> prints the HTTP status; I = 9: request 2 with a draft
    if [ "$1" = 9 ]; then
        data=$(body 2 "$2" | sed "s/}\$/,\"speculation\":[$draft]}/")
    else
        data=$(body "$1" "$2")
    fi
    curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' --max-time 300 \
        --data "$data" "$base/v1/chat/completions"
}
# what must not change: everything from the choices on, but the prefix-cache
# hits (the two models' caches hold different things)
answer() { sed -e 's/^.*"choices"://' -e 's/"prompt_tokens_details":{[^}]*}//' "$1"; }
metric() { # metric NAME MODEL
    curl -s --max-time 10 "$base/metrics" | awk -v k="$1{model=\"$2\"}" '$1 == k { print $2 }'
}

reqs="1 2 3 4 5 6 7 8"
for i in $reqs; do
    st=$(req "$i" big "$tmp/ref.$i")
    [ "$st" = 200 ] || bad "reference $i on big: status $st: $(head -c 300 "$tmp/ref.$i")"
done
# request 9 speculates request 2's first 40 tokens (drafts dropped when
# blocks run short; the answer is exact either way)
draft=$(grep -o '"token_ids":\[[^]]*' "$tmp/ref.2" | head -n 1 | cut -d[ -f2 | cut -d, -f1-40)
cp "$tmp/ref.2" "$tmp/ref.9"
reqs="$reqs 9"
[ -n "$draft" ] || bad "no token ids in the reference of request 2"
[ "$(metric fireworksd_preemptions_total big)" = 0 ] && ok "references ran without preemption" ||
    bad "big: preemptions $(metric fireworksd_preemptions_total big)"

jobs=
for i in $reqs; do
    req "$i" small "$tmp/out.$i" > "$tmp/status.$i" &
    jobs="$jobs $!"
done
wait $jobs # (not the server)
same=0
for i in $reqs; do
    st=$(cat "$tmp/status.$i")
    if [ "$st" != 200 ]; then
        bad "request $i on small: status $st: $(head -c 300 "$tmp/out.$i")"
    elif [ "$(answer "$tmp/out.$i")" = "$(answer "$tmp/ref.$i")" ]; then
        same=$((same + 1))
    else
        bad "request $i: the answer under preemption differs from the one alone"
        answer "$tmp/ref.$i" | head -c 400; echo; answer "$tmp/out.$i" | head -c 400; echo
    fi
done
[ "$same" = 9 ] && ok "9 concurrent requests on a 16-block cache: all 200 and identical to their runs alone"
grep -q '"completion_tokens":240' "$tmp/out.3" && ok "n=2: usage counts 2 x 120 tokens" ||
    bad "n=2 usage: $(grep -o '"usage":{[^}]*' "$tmp/out.3")"

p=$(metric fireworksd_preemptions_total small)
[ "${p:-0}" -gt 0 ] 2>/dev/null && ok "fireworksd_preemptions_total{model=\"small\"} = $p" ||
    bad "no preemption counted on small: '$p'"
running=$(metric fireworksd_running_sequences small)
used=$(metric fireworksd_kv_blocks_used small)
waiting=$(metric fireworksd_queue_depth small)
[ "$running" = 0 ] && [ "$used" = 0 ] && [ "$waiting" = 0 ] && ok "afterwards: nothing running, waiting or holding blocks" ||
    bad "afterwards: running=$running kv_blocks_used=$used queue_depth=$waiting"

# n = 2 on a prompt that fills the whole cache (250 tokens: 15 full blocks
# and a partial one): choice 1 has no block to copy the partial one into, so
# it samples its first token from the shared logits and waits; it computes
# its KV when choice 0 is done.  The answer equals the one on "big".
nwords() { i=0; while [ $i -lt "$1" ]; do printf ' a'; i=$((i + 1)); done; }
fill() { # fill MODEL WORDS N MAX OUT -> prints the HTTP status
    curl -s -o "$5" -w '%{http_code}' -H 'Content-Type: application/json' --max-time 120 \
        --data "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$(nwords "$2")\"}],\"n\":$3,\"max_tokens\":$4,\"ignore_eos\":true,\"temperature\":0.9,\"seed\":11,\"return_token_ids\":true}" \
        "$base/v1/chat/completions"
}
prompt_tokens() { grep -o '"prompt_tokens":[0-9]*' "$1" | cut -d: -f2; }
fill big 200 1 1 "$tmp/probe" >/dev/null
words=$((200 + 250 - $(prompt_tokens "$tmp/probe")))
st_ref=$(fill big "$words" 2 6 "$tmp/fill.ref")
p0=$(metric fireworksd_preemptions_total small)
st=$(fill small "$words" 2 6 "$tmp/fill.out")
p1=$(metric fireworksd_preemptions_total small)
if [ "$(prompt_tokens "$tmp/fill.ref")" != 250 ] || [ "$st_ref" != 200 ]; then
    bad "a 250-token prompt: status $st_ref, $(prompt_tokens "$tmp/fill.ref") tokens"
elif [ "$st" = 200 ] && [ "$(answer "$tmp/fill.out")" = "$(answer "$tmp/fill.ref")" ] && [ "$p1" -gt "$p0" ]; then
    ok "n=2 filling the cache: the second choice waits for its block, same answer"
else
    bad "n=2 filling the cache: status $st, preemptions $p0 -> $p1: $(head -c 300 "$tmp/fill.out")"
fi

# one sequence longer than the whole cache: the context is capped at 256
words="alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"
long="$words $words $words $words $words $words $words $words $words $words $words $words $words $words $words $words $words $words"
st=$(curl -s -o "$tmp/long" -w '%{http_code}' -H 'Content-Type: application/json' --max-time 60 \
    --data "{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"$long\"}],\"max_tokens\":4}" \
    "$base/v1/chat/completions")
[ "$st" = 400 ] && grep -q 'context_length_exceeded' "$tmp/long" && grep -q 'context length of 256' "$tmp/long" &&
    ok "a prompt over the whole cache: 400 context_length_exceeded" ||
    bad "a prompt over the whole cache: status $st: $(head -c 300 "$tmp/long")"
# a generation that would outgrow the cache stops at it (finish_reason length)
st=$(curl -s -o "$tmp/grow" -w '%{http_code}' -H 'Content-Type: application/json' --max-time 60 \
    --data '{"model":"small","messages":[{"role":"user","content":"Go on"}],"max_tokens":1000,"ignore_eos":true}' \
    "$base/v1/chat/completions")
[ "$st" = 200 ] && grep -q '"finish_reason":"length"' "$tmp/grow" &&
    ok "a generation as long as the cache: 200, finish_reason length" ||
    bad "a generation as long as the cache: status $st: $(head -c 300 "$tmp/grow")"
[ $fail -eq 0 ] && echo "PASS: preempt"
exit $fail
