#!/bin/bash
# tests/test_reasoning_budget.sh -- reasoning budgets end to end: the real
# server on loopback serving a random-weight Qwen3 (fwctl mkmodel + the real
# Qwen3 tokenizer).  A logit_bias on <think> makes the model open reasoning
# and never close it, so only the budget can end it: the output must be
# <think>, exactly BUDGET reasoning tokens, the template's close text
# ("\n</think>\n\n" as tokens), then content.  Without a budget the same
# request reasons to max_tokens.
set -u
. "${FW_SRCDIR:-.}/tests/lib.sh"
fw_need_plugins backend_cpu template_qwen3 sampler_standard grammar_gbnf
command -v node >/dev/null || { echo "SKIP: node is needed to read the JSON"; exit 77; }

fw_make_model 3
port=$((10000 + ($$ * 7) % 22000))
cat > "$tmp/fw.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $port
models:
  - name: qwen3-tiny
    path: $tmp/qwen3
    backend: cpu
    kv_cache_bytes: 64MiB
    default_max_tokens: 32
    reasoning_low_budget: 5
YAML
fw_start_server "$tmp/fw.yaml"
ok "server healthy"

# the close text as the tokenizer splits it, and the opening tag's id
ids() { # ids JSON-TEXT -> comma-separated token ids
    printf '{"text":%s}\n' "$1" | "$builddir/fwctl" tokenize --tokenizer "$tmp/qwen3" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).ids.join()))'
}
think=$(ids '"<think>"')
close=$(ids '"\n</think>\n\n"')
case "$think" in *,*|'') bad "<think> is one token: '$think'"; exit 1 ;; esac
echo "# <think> = $think, close = [$close]"

result() { if [ $? = 0 ]; then ok "$1"; else bad "$1"; fi; } # result NAME: of the last command
post() { # post BODY -> $tmp/out
    status=$(curl -s -o "$tmp/out" -w '%{http_code}' -H 'Content-Type: application/json' \
        --max-time 120 --data-binary "$1" "http://127.0.0.1:$port/v1/chat/completions")
    [ "$status" = 200 ] || { bad "status $status: $(head -c 300 "$tmp/out")"; return 1; }
}
# check FILE BUDGET MAX N: every choice is <think>, BUDGET tokens, the close
# ids, then content up to MAX tokens; reasoning_content is what came before
# the close, content what came after; usage counts the forced tokens.
check() {
    node - "$1" "$think" "$close" "$2" "$3" "$4" <<'JS'
const fs = require("fs");
const [file, think, close, budget, max, n] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, "utf8"));
const closeIds = close.split(",").map(Number), B = Number(budget);
const fail = (m) => { console.log("FAIL " + m); process.exit(1); };
if (r.choices.length !== Number(n)) fail("choices " + r.choices.length);
let total = 0;
for (const c of r.choices) {
  const ids = c.token_ids, m = c.message;
  total += ids.length;
  if (ids[0] !== Number(think)) fail("first token " + ids[0]);
  const at = 1 + B;
  const got = ids.slice(at, at + closeIds.length);
  if (JSON.stringify(got) !== JSON.stringify(closeIds))
    fail(`choice ${c.index}: tokens ${at}.. are ${got}, want the close ${closeIds}`);
  if (ids.slice(1, at).some((t) => closeIds.includes(t) && t !== closeIds[0]))
    fail("a close token inside the reasoning");
  if (ids.length !== Number(max)) fail(`choice ${c.index}: ${ids.length} tokens, want ${max}`);
  if (c.finish_reason !== "length") fail("finish_reason " + c.finish_reason);
  if (!m.reasoning_content || !m.reasoning_content.length) fail("no reasoning_content");
  if (!m.content || !m.content.length) fail("no content after the close");
  if (c.logprobs) {
    const lp = c.logprobs.content;
    if (lp.length !== ids.length) fail("logprobs " + lp.length);
    for (let k = at; k < at + closeIds.length; k++)
      if (!(lp[k].logprob <= 0) || !isFinite(lp[k].logprob) || lp[k].sampling_logprob !== 0)
        fail("forced logprob " + JSON.stringify(lp[k]));
  }
  console.log(`# choice ${c.index}: ${ids.length} tokens, close at ${at}..${at + closeIds.length - 1}; ` +
              `reasoning ${JSON.stringify(m.reasoning_content.slice(0, 40))}... content ` +
              `${JSON.stringify(m.content.slice(0, 40))}...`);
}
if (r.usage.completion_tokens !== total) fail("usage.completion_tokens " + r.usage.completion_tokens);
JS
}
bias="\"logit_bias\":{\"$think\":100}"
msg='"messages":[{"role":"user","content":"Think about it."}]'

# 1. an integer reasoning_effort caps reasoning at that many tokens
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":20,\"return_token_ids\":true,\"temperature\":0}" &&
    check "$tmp/out" 7 20 1
result "reasoning_effort 7: 7 reasoning tokens, the close, content"

# 2. no budget: the same request reasons until max_tokens, no close
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"max_tokens\":20,\"return_token_ids\":true,\"temperature\":0}" &&
    node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), c = r.choices[0];
const close = process.argv[2].split(",").map(Number);
if (c.token_ids.length !== 20 || c.token_ids.slice(1).some((t) => t === close[1]) || c.message.content)
  { console.log("FAIL", JSON.stringify(c)); process.exit(1); }
console.log("# no budget: " + c.token_ids.length + " tokens, all reasoning");' "$tmp/out" "$close"
result "no budget: reasoning runs to max_tokens"

# 3. thinking.budget_tokens, n = 2, logprobs: per choice
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},\"max_tokens\":1030,\"n\":2,\"logprobs\":true,\"return_token_ids\":true,\"temperature\":1}" &&
    check "$tmp/out" 1024 1030 2
result "thinking.budget_tokens 1024, n=2, logprobs"

# 4. "low" is models[].reasoning_low_budget (5 here)
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":\"low\",\"max_tokens\":12,\"return_token_ids\":true}" &&
    check "$tmp/out" 5 12 1
result "reasoning_effort low: reasoning_low_budget"

# 5. max_tokens still caps the total: the close is cut short
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":9,\"return_token_ids\":true}" &&
    node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), c = r.choices[0];
if (c.token_ids.length !== 9 || c.finish_reason !== "length" || c.token_ids[8] !== Number(process.argv[2].split(",")[0]))
  { console.log("FAIL", JSON.stringify(c)); process.exit(1); }' "$tmp/out" "$close"
result "max_tokens caps budget + close"

# 5b. a stop sequence in the forced close ends the choice there
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":20,\"stop\":[\"</think>\"]}" &&
    node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).choices[0];
if (c.finish_reason !== "stop" || c.message.content || c.message.reasoning_content !== "<think>".repeat(7))
  { console.log("FAIL", JSON.stringify(c)); process.exit(1); }' "$tmp/out"
result "stop sequence inside the forced close"

# 6. streaming: reasoning deltas, then content deltas
curl -s -N -H 'Content-Type: application/json' --max-time 120 \
    --data "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":20,\"stream\":true,\"temperature\":0}" \
    "http://127.0.0.1:$port/v1/chat/completions" > "$tmp/sse"
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":20,\"temperature\":0}" &&
    node -e '
const fs = require("fs");
const full = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).choices[0].message;
let reasoning = "", content = "", order = [];
for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
  if (!line.startsWith("data: {")) continue;
  const d = JSON.parse(line.slice(6)).choices[0]?.delta || {};
  if (d.reasoning_content) { reasoning += d.reasoning_content; order.push("r"); }
  if (d.content) { content += d.content; order.push("c"); }
}
const o = order.join("");
if (reasoning !== full.reasoning_content || content !== full.content || !/^r+c+$/.test(o))
  { console.log("FAIL", o, JSON.stringify({reasoning, content, full})); process.exit(1); }' "$tmp/sse" "$tmp/out"
result "streaming: reasoning then content, as the non-streaming answer"

# 7. speculation: a draft that keeps reasoning past the budget (the
# no-budget output) is accepted up to the budget and rejected at the close
# ("<think>" and the 7 reasoning tokens: 8 draft tokens match)
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"max_tokens\":20,\"return_token_ids\":true,\"temperature\":0}" &&
    spec=$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).choices[0].token_ids))' "$tmp/out") &&
    post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":20,\"return_token_ids\":true,\"temperature\":0,\"speculation\":$spec,\"perf_metrics_in_response\":true}" &&
    check "$tmp/out" 7 20 1 &&
    node -e '
const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).perf_metrics;
console.log("# speculation: " + JSON.stringify(p));
if (p["speculation-prompt-tokens"] !== 20 || p["speculation-prompt-matched-tokens"] !== 8)
  { console.log("FAIL matched", p["speculation-prompt-matched-tokens"]); process.exit(1); }' "$tmp/out"
result "speculation does not jump over the budget"

# 8. response_format: the model may still open reasoning; the grammar
# starts after the (budget-closed) reasoning, so the content is JSON
post "{\"model\":\"qwen3-tiny\",$msg,$bias,\"reasoning_effort\":7,\"max_tokens\":40,\"return_token_ids\":true,\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}" &&
    node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).choices[0];
const close = process.argv[2].split(",").map(Number), ids = c.token_ids;
console.log("# json after reasoning: " + JSON.stringify(c.message).slice(0, 160));
if (JSON.stringify(ids.slice(8, 11)) !== JSON.stringify(close) || !/^\s*\{/.test(c.message.content))
  { console.log("FAIL", JSON.stringify(c)); process.exit(1); }' "$tmp/out" "$close"
result "response_format: grammar after the reasoning"

fw_kill_server term
exit $fail
