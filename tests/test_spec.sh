#!/bin/sh
# tests/test_spec.sh -- the product contract, field by field: every request
# field of ChatCompletionRequest (../shared/spec/chat-completions.openapi.md)
# is sent to the real server and its effect, or its rejection, is checked the
# way docs/api.md describes it; every response object is checked against the
# spec's key lists.  One line per field.  It covers what tests/test_e2e.sh
# (HTTP basics, SDK round trips, load) and tests/test_api_request.c (the
# validator's 422 details) do not: the effect of each field end to end.
#
# Checks of known, reported gaps outside this test's reach are listed in
# KNOWN below: they print "# TODO" and do not fail the run; one that starts
# to pass says so, so that it is moved back to a plain check.
set -u
. "${FW_SRCDIR:-.}/tests/lib.sh"
fw_need_plugins backend_cpu template_qwen3 sampler_standard grammar_gbnf
command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }

fw_make_model 1
key=sk-spec-test-key
port=$((10000 + ($$ * 7) % 22000))
cat > "$tmp/fw.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $port
  api_keys: [$key]
  max_body_bytes: 64KiB
models:
  - name: qwen3-tiny
    path: $tmp/qwen3
    backend: cpu
    kv_cache_bytes: 64MiB
    max_context: 320
    default_max_tokens: 16
YAML
fw_start_server "$tmp/fw.yaml"

cat > "$tmp/spec.mjs" <<'EOF'
// One function per field of the spec; each prints "ok - FIELD" or
// "not ok - FIELD: why".
const base = process.env.FW_BASE, key = process.env.FW_KEY, model = 'qwen3-tiny';
const eos = Number(process.env.FW_EOS);
const maxContext = 320;
const KNOWN = new Set((process.env.FW_KNOWN || '').split(',').filter(Boolean));
let failed = 0;

class Fail extends Error {}
function assert(cond, msg) { if (!cond) throw new Fail(msg); }
function eq(a, b, msg) {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  assert(ja === jb, `${msg}: got ${ja && ja.slice(0, 200)}, want ${jb && jb.slice(0, 200)}`);
}

async function post(body, headers = {}) {
  const r = await fetch(base + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}
const hi = [{ role: 'user', content: 'Hi' }];
const chat = (extra, messages = hi) => post({ model, messages, ...extra });

// A 200 chat.completion, checked against the spec's key lists.
async function ok(extra, messages) {
  const r = await chat(extra, messages);
  assert(r.status === 200, `status ${r.status}: ${r.text.slice(0, 300)}`);
  conformResponse(r.json);
  return r.json;
}
// A stream: every chunk checked; returns {chunks, done, errors}.
async function stream(extra, messages = hi) {
  const r = await chat({ ...extra, stream: true }, messages);
  assert(r.status === 200, `stream status ${r.status}: ${r.text.slice(0, 300)}`);
  assert((r.headers.get('content-type') || '').startsWith('text/event-stream'), 'stream content-type');
  const events = r.text.split('\n\n').filter(e => e.length);
  const chunks = [], errors = [];
  let done = false;
  for (const ev of events) {
    assert(ev.startsWith('data: '), 'SSE line ' + ev.slice(0, 60));
    const data = ev.slice(6);
    assert(!done, 'data after [DONE]');
    if (data === '[DONE]') { done = true; continue; }
    const j = JSON.parse(data);
    if (j.error) { errors.push(j.error); continue; }
    conformChunk(j);
    chunks.push(j);
  }
  assert(done, 'stream ends with [DONE]');
  return { chunks, errors };
}
const content = (j, i = 0) => j.choices[i].message.content;

// ---- the spec's objects (additionalProperties: false) ----------------------
function keys(o, allowed, required, what) {
  assert(o && typeof o === 'object' && !Array.isArray(o), what + ' is not an object');
  for (const k of Object.keys(o)) assert(allowed.includes(k), `${what}: key '${k}' is not in the spec`);
  for (const k of required) assert(k in o, `${what}: required key '${k}' missing`);
}
const isInt = v => Number.isInteger(v);
const isIntArray = v => Array.isArray(v) && v.every(isInt);
function conformUsage(u, what) {
  keys(u, ['prompt_tokens', 'total_tokens', 'completion_tokens', 'prompt_tokens_details'],
       ['prompt_tokens', 'total_tokens'], what);
  assert(isInt(u.prompt_tokens) && isInt(u.completion_tokens), what + ': integer counts');
  assert(u.total_tokens === u.prompt_tokens + u.completion_tokens, what + ': total = prompt + completion');
  keys(u.prompt_tokens_details, ['cached_tokens'], [], what + '.prompt_tokens_details');
}
function conformToolCall(t, what, delta) {
  // "index" is not in ChatCompletionMessageToolCall; docs/api.md keeps it
  // (OpenAI clients join streamed deltas by it).
  keys(t, ['index', 'id', 'type', 'function'], delta ? ['index'] : ['index', 'id', 'type', 'function'], what);
  if (t.type !== undefined) eq(t.type, 'function', what + '.type');
  if (t.function !== undefined) {
    keys(t.function, ['name', 'arguments'], delta ? [] : ['name', 'arguments'], what + '.function');
    if (t.function.arguments !== undefined) assert(typeof t.function.arguments === 'string', what + ': arguments is JSON text');
  }
}
function conformLogprobs(lp, what) {
  if (lp === null || lp === undefined) return;
  if ('content' in lp) {
    keys(lp, ['content'], ['content'], what);
    lp.content.forEach((c, i) => {
      const w = `${what}.content[${i}]`;
      keys(c, ['token', 'logprob', 'sampling_logprob', 'bytes', 'top_logprobs', 'token_id', 'text_offset',
               'last_activation', 'routing_matrix'],
           ['token', 'logprob', 'sampling_logprob', 'bytes', 'token_id', 'text_offset'], w);
      assert(typeof c.token === 'string' && typeof c.logprob === 'number' && c.logprob <= 0, w + ': token/logprob');
      assert(isIntArray(c.bytes) && isInt(c.token_id) && isInt(c.text_offset), w + ': bytes/token_id/text_offset');
      for (const t of c.top_logprobs) keys(t, ['token', 'logprob', 'token_id', 'bytes'], ['token', 'logprob', 'token_id'], w + '.top_logprobs[]');
    });
  } else {
    keys(lp, ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset', 'token_ids'],
         ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset'], what);
    const n = lp.tokens.length;
    assert(lp.token_logprobs.length === n && lp.text_offset.length === n, what + ': parallel arrays');
    if (lp.top_logprobs !== null) assert(lp.top_logprobs.length === n, what + ': top_logprobs per token');
  }
}
function conformRaw(r, what) {
  if (r === undefined || r === null) return;
  keys(r, ['prompt_fragments', 'prompt_token_ids', 'completion', 'completion_token_ids', 'completion_logprobs',
           'images', 'grammar'], ['prompt_fragments', 'prompt_token_ids', 'completion'], what);
  assert(r.prompt_fragments.every(f => typeof f === 'string' || isInt(f)), what + ': fragments');
  assert(isIntArray(r.prompt_token_ids), what + ': prompt_token_ids');
}
function conformResponse(j) {
  keys(j, ['id', 'object', 'created', 'model', 'choices', 'usage', 'perf_metrics', 'prompt_token_ids'],
       ['id', 'created', 'model', 'choices'], 'response');
  eq(j.object, 'chat.completion', 'object');
  assert(isInt(j.created) && typeof j.id === 'string', 'id/created');
  j.choices.forEach((c, i) => {
    const w = `choices[${i}]`;
    keys(c, ['index', 'message', 'finish_reason', 'logprobs', 'raw_output', 'token_ids'], ['index', 'message'], w);
    eq(c.index, i, w + '.index');
    keys(c.message, ['role', 'content', 'reasoning_content', 'tool_calls', 'tool_call_id'], ['role'], w + '.message');
    eq(c.message.role, 'assistant', w + '.message.role');
    assert(['stop', 'length', 'tool_calls'].includes(c.finish_reason), w + ': finish_reason ' + c.finish_reason);
    (c.message.tool_calls || []).forEach((t, k) => conformToolCall(t, `${w}.tool_calls[${k}]`, false));
    conformLogprobs(c.logprobs, w + '.logprobs');
    conformRaw(c.raw_output, w + '.raw_output');
    if ('token_ids' in c) assert(isIntArray(c.token_ids), w + '.token_ids');
  });
  if (j.usage !== undefined) conformUsage(j.usage, 'usage');
  if ('prompt_token_ids' in j) assert(isIntArray(j.prompt_token_ids), 'prompt_token_ids');
}
function conformChunk(j) {
  keys(j, ['id', 'object', 'created', 'model', 'choices', 'usage', 'perf_metrics', 'prompt_token_ids'],
       ['id', 'created', 'model', 'choices'], 'chunk');
  eq(j.object, 'chat.completion.chunk', 'chunk object');
  j.choices.forEach((c, i) => {
    const w = `chunk.choices[${i}]`;
    keys(c, ['index', 'delta', 'finish_reason', 'logprobs', 'raw_output', 'prompt_token_ids', 'token_ids'],
         ['index', 'delta'], w);
    keys(c.delta, ['role', 'content', 'reasoning_content', 'tool_calls'], [], w + '.delta');
    assert(c.finish_reason === null || ['stop', 'length', 'function_call', 'tool_calls'].includes(c.finish_reason),
           w + ': finish_reason ' + c.finish_reason);
    (c.delta.tool_calls || []).forEach((t, k) => conformToolCall(t, `${w}.delta.tool_calls[${k}]`, true));
    conformLogprobs(c.logprobs, w + '.logprobs');
  });
  if (j.usage) conformUsage(j.usage, 'chunk.usage');
}
// The Fireworks error body (every status but 422).
function errorShape(r, status, code) {
  assert(r.status === status, `status ${r.status}, want ${status}: ${r.text.slice(0, 300)}`);
  assert((r.headers.get('content-type') || '').startsWith('application/json'), `${status}: content-type ${r.headers.get('content-type')}`);
  assert(r.json, `${status}: body is not JSON: ${r.text.slice(0, 120)}`);
  keys(r.json, ['error'], ['error'], `${status} body`);
  keys(r.json.error, ['object', 'type', 'code', 'message'], ['object', 'type', 'code', 'message'], `${status} error`);
  eq(r.json.error.object, 'error', 'error.object');
  eq(r.json.error.type, status >= 500 ? 'internal_server_error' : 'invalid_request_error', `${status} error.type`);
  if (code) eq(r.json.error.code, code, `${status} error.code`);
  assert(typeof r.json.error.message === 'string' && r.json.error.message.length > 0, 'error.message');
}
// The 422 body: {"detail": [{loc, msg, type}]} with one item at loc/type.
function detail(r, loc, type) {
  assert(r.status === 422, `status ${r.status}, want 422: ${r.text.slice(0, 300)}`);
  keys(r.json, ['detail'], ['detail'], '422 body');
  for (const d of r.json.detail) keys(d, ['loc', 'msg', 'type'], ['loc', 'msg', 'type'], '422 item');
  assert(r.json.detail.some(d => JSON.stringify(d.loc) === JSON.stringify(loc) && d.type === type),
         `no ${type} at ${JSON.stringify(loc)}: ${r.text.slice(0, 300)}`);
}
const promptText = j => j.choices[0].raw_output.prompt_fragments.filter(f => typeof f === 'string').join('|');
const maxRepeat = ids => Math.max(...Object.values(ids.reduce((m, t) => (m[t] = (m[t] || 0) + 1, m), {})));
let nonce = 0;
const uniq = words => `${++nonce} ${process.pid} ` + Array.from({ length: words }, (_, i) => `w${i}`).join(' ');

async function field(name, fn) {
  try {
    await fn();
    if (KNOWN.has(name)) console.log(`ok - ${name} # TODO listed as a known gap but passes: drop it from KNOWN`);
    else console.log(`ok - ${name}`);
  } catch (e) {
    const why = (e instanceof Fail ? e.message : (e && e.stack) || String(e)).replace(/\n/g, '\\n');
    if (KNOWN.has(name)) console.log(`not ok - ${name} # TODO known gap: ${why}`);
    else { failed++; console.log(`not ok - ${name}: ${why}`); }
  }
}

// ---- request fields ---------------------------------------------------------
await field('model', async () => {
  const j = await ok({ max_tokens: 1 }, hi);
  eq(j.model, model, 'model echoed');
  const full = await ok({ model: 'accounts/fireworks/models/' + model, max_tokens: 1 });
  eq(full.model, 'accounts/fireworks/models/' + model, 'full name echoed');
  errorShape(await chat({ model: 'no-such-model' }), 404, 'model_not_found');
  detail(await chat({ model: 5 }), ['body', 'model'], 'string_type');
});

await field('messages', async () => {
  const msgs = [{ role: 'system', content: 'SYS' }, { role: 'user', content: [{ type: 'text', text: 'AB' }, { type: 'text', text: 'CD' }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'fx', arguments: '{"k": 1}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'TOOLRES' }, { role: 'function', content: 'FNRES' }];
  const p = promptText(await ok({ max_tokens: 1, raw_output: true }, msgs));
  for (const s of ['SYS', 'ABCD', '"name": "fx"', 'TOOLRES', 'FNRES']) assert(p.includes(s), `prompt lacks ${s}: ${p}`);
  detail(await chat({}, [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }]),
         ['body', 'messages', 0, 'content', 0], 'value_error');
  detail(await chat({}, []), ['body', 'messages'], 'too_short');
});

await field('messages.developer', async () => {
  const p = promptText(await ok({ max_tokens: 1, raw_output: true },
                                [{ role: 'developer', content: 'DEVNOTE' }, { role: 'user', content: 'Hi' }]));
  assert(p.includes('DEVNOTE'), 'developer message missing from the prompt: ' + p);
});

await field('messages.assistant-prefill', async () => {
  // add_generation_prompt is false: the model continues the last message.
  const j = await ok({ max_tokens: 1, raw_output: true }, [...hi, { role: 'assistant', content: 'PREFILL' }]);
  const frags = j.choices[0].raw_output.prompt_fragments;
  const last = frags[frags.length - 1];
  assert(typeof last === 'string' && last.endsWith('PREFILL'), 'prompt does not end with the prefill: ' + JSON.stringify(frags.slice(-3)));
  assert(!content(j).includes('PREFILL'), 'content is the continuation only: ' + content(j));
  // the continuation is kept as generated: its leading space, and tags that
  // would open a fresh reply are text (raw_output.completion is the output)
  const prefill = [...hi, { role: 'assistant', content: 'PREFILL' }];
  for (const out of [' world', '<think>x</think> y']) {
    const g = `root ::= "${out.replace(/"/g, '\\"')}"`;
    const c = (await ok({ response_format: { type: 'grammar', grammar: g }, max_tokens: 20, temperature: 0, raw_output: true }, prefill)).choices[0];
    eq([c.raw_output.completion, c.message.content, c.message.reasoning_content], [out, out, undefined], 'continuation of ' + JSON.stringify(out));
    const s = await stream({ response_format: { type: 'grammar', grammar: g }, max_tokens: 20, temperature: 0 }, prefill);
    eq(s.chunks.map(ch => ch.choices[0].delta.content || '').join(''), out, 'streamed continuation of ' + JSON.stringify(out));
  }
  // a prefill that leaves its reasoning open is continued as reasoning
  const lead = (await ok({ response_format: { type: 'grammar', grammar: 'root ::= " sure"' }, max_tokens: 4, temperature: 0, return_token_ids: true },
                         prefill)).choices[0].token_ids[0]; // a token starting with a space
  const m = (await ok({ logit_bias: { [lead]: 100 }, max_tokens: 2, temperature: 0, ignore_eos: true, raw_output: true },
                      [...hi, { role: 'assistant', content: '<think>\nhmm' }])).choices[0];
  const raw = m.raw_output.completion;
  assert(raw.startsWith(' ') && raw.trim(), 'the forced continuation: ' + JSON.stringify(raw));
  eq([m.message.reasoning_content, m.message.content || ''], [raw, ''], 'open reasoning continued');
});

await field('stream', async () => {
  const args = { max_tokens: 6, temperature: 0, n: 2, return_token_ids: true, logprobs: true };
  const whole = await ok(args);
  const { chunks, errors } = await stream(args);
  eq(errors, [], 'no error chunks');
  const text = ['', ''], ids = [[], []], lps = [0, 0], fin = [null, null];
  chunks.forEach((ch, k) => {
    for (const c of ch.choices) {
      assert(fin[c.index] === null, 'chunk after finish_reason for choice ' + c.index);
      text[c.index] += c.delta.content || '';
      ids[c.index].push(...(c.token_ids || []));
      lps[c.index] += c.logprobs ? c.logprobs.content.length : 0;
      fin[c.index] = c.finish_reason;
    }
  });
  eq(chunks[0].choices[0].delta.role, 'assistant', 'first delta role');
  for (let i = 0; i < 2; i++) {
    eq(text[i], content(whole, i), `choice ${i} streamed text`);
    eq(ids[i], whole.choices[i].token_ids, `choice ${i} streamed token_ids`);
    eq(lps[i], whole.choices[i].logprobs.content.length, `choice ${i} streamed logprobs`);
    eq(fin[i], whole.choices[i].finish_reason, `choice ${i} finish_reason`);
  }
  eq(chunks[chunks.length - 1].usage, whole.usage, 'final chunk usage');
  detail(await chat({ stream: 2 }), ['body', 'stream'], 'bool_parsing');
});

await field('stream.usage', async () => {
  // usage (and perf_metrics) once, in the last chunk, also when every choice ends in one step
  for (let k = 0; k < 3; k++) {
    const { chunks } = await stream({ n: 3, max_tokens: 2, ignore_eos: true, perf_metrics_in_response: true });
    const at = chunks.map((c, i) => c.usage ? i : -1).filter(i => i >= 0);
    eq(at, [chunks.length - 1], 'chunks carrying usage');
    eq(chunks.map((c, i) => 'perf_metrics' in c ? i : -1).filter(i => i >= 0), [chunks.length - 1], 'chunks carrying perf_metrics');
    eq(chunks[chunks.length - 1].usage.completion_tokens, 6, 'usage counts every choice');
  }
});

await field('null', async () => {
  // docs/api.md: null is the same as leaving the field out...
  const want = content(await ok({ max_tokens: 4, seed: 5, ignore_eos: true }));
  for (const f of ['stream', 'response_format', 'temperature', 'top_k', 'top_p', 'min_p', 'typical_p', 'frequency_penalty',
                   'presence_penalty', 'repetition_penalty', 'mirostat_target', 'mirostat_lr', 'stop', 'max_completion_tokens',
                   'logprobs', 'top_logprobs', 'echo', 'echo_last', 'logit_bias', 'user', 'prompt_cache_isolation_key', 'raw_output',
                   'perf_metrics_in_response', 'return_token_ids', 'prompt_truncate_len', 'speculation', 'prediction', 'metadata',
                   'reasoning_effort', 'reasoning_history', 'thinking', 'parallel_tool_calls', 'function_call']) {
    const j = await ok({ max_tokens: 4, seed: 5, ignore_eos: true, [f]: null });
    eq([content(j), Object.keys(j).sort(), Object.keys(j.choices[0]).sort(), j.choices[0].logprobs],
       [want, ['choices', 'created', 'id', 'model', 'object', 'usage'], ['finish_reason', 'index', 'logprobs', 'message'], null], f + ': null');
  }
  // ...except on the fields the spec does not make nullable
  for (const [f, type] of [['n', 'int_type'], ['ignore_eos', 'bool_type'], ['context_length_exceeded_behavior', 'literal_error'],
                           ['tools', 'list_type'], ['functions', 'list_type'], ['model', 'string_type'], ['messages', 'list_type']])
    detail(await chat({ [f]: null }), ['body', f], type);
  detail(await chat({ tool_choice: null }), ['body', 'tool_choice', 'FunctionSelection'], 'model_type');
});

await field('stream_options', async () => {
  // not in the spec: rejected, as docs/api.md says
  detail(await chat({ stream: true, stream_options: { include_usage: true } }), ['body', 'stream_options'], 'extra_forbidden');
});

await field('max_tokens', async () => {
  for (const n of [1, 5]) {
    const j = await ok({ max_tokens: n, ignore_eos: true });
    eq(j.usage.completion_tokens, n, `max_tokens ${n}`);
    eq(j.choices[0].finish_reason, 'length', 'finish_reason length');
  }
  eq((await ok({ ignore_eos: true })).usage.completion_tokens, 16, 'server default_max_tokens');
  detail(await chat({ max_tokens: -1 }), ['body', 'max_tokens'], 'greater_than_equal');
});

await field('max_tokens.zero', async () => {
  // docs/api.md: 0 prefills the prompt and generates nothing ("length")
  const e = content(await ok({ max_tokens: 3, temperature: 0, ignore_eos: true, echo: true }));
  const j = await ok({ max_tokens: 0, echo: true, n: 2, raw_output: true });
  eq(j.usage.completion_tokens, 0, 'completion_tokens with max_tokens 0');
  for (const c of j.choices) {
    eq(c.finish_reason, 'length', 'finish_reason');
    assert(c.message.content.length > 0 && e.startsWith(c.message.content), 'echo: the prompt alone: ' + c.message.content);
    eq(c.raw_output.completion, '', 'nothing generated');
  }
  const s = await stream({ max_tokens: 0 });
  eq([s.chunks.map(c => c.choices[0].delta.content || '').join(''), s.chunks[s.chunks.length - 1].choices[0].finish_reason,
      s.chunks[s.chunks.length - 1].usage.completion_tokens], ['', 'length', 0], 'stream');
  const messages = [{ role: 'user', content: uniq(60) }];
  await ok({ max_tokens: 0 }, messages);
  assert((await ok({ max_tokens: 1 }, messages)).usage.prompt_tokens_details.cached_tokens > 0, 'the prompt is cached');
});

await field('max_completion_tokens', async () => {
  eq((await ok({ max_completion_tokens: 3, ignore_eos: true })).usage.completion_tokens, 3, 'alias caps the output');
  detail(await chat({ max_tokens: 2, max_completion_tokens: 3 }), ['body'], 'value_error');
});

await field('temperature', async () => {
  const a = content(await ok({ max_tokens: 8, temperature: 0, seed: 1 }));
  const b = content(await ok({ max_tokens: 8, temperature: 0, seed: 2 }));
  eq(a, b, 'temperature 0 ignores the seed');
  const hot = new Set();
  for (const seed of [1, 2, 3]) hot.add(content(await ok({ max_tokens: 8, temperature: 2, seed })));
  assert(hot.size > 1, 'temperature 2 gives the same text for three seeds');
  detail(await chat({ temperature: 2.5 }), ['body', 'temperature'], 'less_than_equal');
});

const greedy = async (n = 8) => ok({ max_tokens: n, temperature: 0, return_token_ids: true, ignore_eos: true });
const sameAsGreedy = async (name, extra) => {
  const g = content(await greedy());
  for (const seed of [1, 2, 3])
    eq(content(await ok({ max_tokens: 8, temperature: 2, seed, ignore_eos: true, ...extra })), g, `${name} at temperature 2, seed ${seed}`);
};
await field('top_k', async () => { await sameAsGreedy('top_k 1', { top_k: 1 }); detail(await chat({ top_k: 101 }), ['body', 'top_k'], 'less_than_equal'); });
await field('top_p', async () => { await sameAsGreedy('top_p 1e-6', { top_p: 1e-6 }); detail(await chat({ top_p: 1.5 }), ['body', 'top_p'], 'less_than_equal'); });
await field('min_p', async () => { await sameAsGreedy('min_p 1', { min_p: 1 }); detail(await chat({ min_p: -0.1 }), ['body', 'min_p'], 'greater_than_equal'); });
await field('typical_p', async () => {
  // the single most typical token: the same whatever the seed
  const outs = new Set();
  for (const seed of [1, 2, 3]) outs.add(content(await ok({ max_tokens: 8, temperature: 2, seed, typical_p: 1e-6 })));
  eq(outs.size, 1, 'typical_p 1e-6 outputs');
  detail(await chat({ typical_p: 2 }), ['body', 'typical_p'], 'less_than_equal');
});
await field('mirostat_target', async () => {
  // a target surprise near 0 keeps only the most likely token
  await sameAsGreedy('mirostat_target 0.001', { mirostat_target: 0.001 });
  detail(await chat({ mirostat_target: 'x' }), ['body', 'mirostat_target'], 'float_parsing');
});
await field('mirostat_lr', async () => {
  await sameAsGreedy('mirostat_target 0.001 + mirostat_lr 1', { mirostat_target: 0.001, mirostat_lr: 1 });
  detail(await chat({ mirostat_lr: [] }), ['body', 'mirostat_lr'], 'float_type');
});

for (const [name, v, bad] of [['frequency_penalty', 2, 2.5], ['presence_penalty', 2, -3], ['repetition_penalty', 2, 3]]) {
  await field(name, async () => {
    const g = (await greedy(12)).choices[0].token_ids;
    assert(maxRepeat(g) > 1, 'precondition: greedy output repeats a token');
    const p = (await ok({ max_tokens: 12, temperature: 0, return_token_ids: true, ignore_eos: true, [name]: v })).choices[0].token_ids;
    assert(maxRepeat(p) < maxRepeat(g), `${name} ${v}: repeats ${maxRepeat(p)} vs ${maxRepeat(g)}`);
    detail(await chat({ [name]: bad }), ['body', name], bad > v ? 'less_than_equal' : 'greater_than_equal');
  });
}

await field('seed', async () => {
  const run = seed => ok({ max_tokens: 8, temperature: 1, seed });
  eq(content(await run(42)), content(await run(42)), 'same seed');
  eq(content(await run('42')), content(await run(42)), 'seed "42" (lax) is 42');
  const outs = new Set();
  for (const s of [1, 2, 3]) outs.add(content(await run(s)));
  assert(outs.size > 1, 'different seeds give the same text');
  detail(await chat({ seed: 1.5 }), ['body', 'seed'], 'int_from_float');
});

await field('seed.int64', async () => {
  // docs/api.md: "any 64-bit integer"
  const bySeed = async seed => {
    const r = await post(`{"model":"${model}","messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"temperature":1,"seed":${seed}}`);
    assert(r.status === 200, `seed ${seed}: status ${r.status} ${r.text.slice(0, 200)}`);
    conformResponse(r.json);
    return content(r.json);
  };
  eq(await bySeed('9223372036854775807'), await bySeed('9223372036854775807'), 'seed 2^63-1 twice');
  // 2^53 and 2^53 + 1 are the same double: only an exact seed tells them apart
  assert(await bySeed('9007199254740992') !== await bySeed('9007199254740993'), 'seeds 2^53 and 2^53+1 give the same text');
});

await field('n', async () => {
  const j = await ok({ n: 4, max_tokens: 6, temperature: 1.5, seed: 11, ignore_eos: true });
  eq(j.choices.length, 4, 'four choices');
  assert(new Set(j.choices.map(c => c.message.content)).size > 1, 'n choices are all the same: RNG streams not forked');
  eq(j.usage.completion_tokens, 24, 'usage counts every choice');
  const most = await ok({ n: 128, max_tokens: 1, ignore_eos: true });
  eq([most.choices.length, most.usage.completion_tokens], [128, 128], 'n 128');
  detail(await chat({ n: 129 }), ['body', 'n'], 'less_than_equal');
  detail(await chat({ n: null }), ['body', 'n'], 'int_type');
});

await field('stop', async () => {
  const base = { max_tokens: 12, temperature: 1, seed: 3, ignore_eos: true };
  const full = Array.from(content(await ok(base)));
  assert(full.length >= 8, 'precondition: 8 characters of output');
  const stop = full.slice(4, 6).join('');
  const at = full.join('').indexOf(stop);
  const j = await ok({ ...base, stop });
  eq(content(j), full.join('').slice(0, at), 'text cut before the stop string (string form)');
  eq(j.choices[0].finish_reason, 'stop', 'finish_reason');
  const s = await stream({ ...base, stop: ['\u0000never', stop] });
  eq(s.chunks.map(c => c.choices[0].delta.content || '').join(''), full.join('').slice(0, at), 'streamed text cut before the stop string');
  eq(content(await ok({ ...base, stop: ['', ''] })), full.join(''), 'empty stop strings are ignored');
  detail(await chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), ['body', 'stop', 'list[str]'], 'too_long');
});

await field('logprobs', async () => {
  const t = await ok({ max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3, return_token_ids: true, ignore_eos: true });
  const c = t.choices[0].logprobs.content;
  eq(c.length, 4, 'one entry per token');
  eq(c.map(e => e.token_id), t.choices[0].token_ids, 'token ids');
  for (const e of c) {
    eq(e.top_logprobs.length, 3, 'top_logprobs alternatives');
    assert(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-4, 'greedy token is the top alternative');
  }
  eq(c.map(e => e.text_offset), c.reduce((a, e, i) => (a.push(i ? a[i - 1] + c[i - 1].bytes.length : 0), a), []), 'text_offset');
  const legacy = (await ok({ max_tokens: 3, temperature: 0, logprobs: 2, ignore_eos: true })).choices[0].logprobs;
  eq(legacy.tokens.length, 3, 'legacy: one token per position');
  for (const m of legacy.top_logprobs) assert(Object.keys(m).length >= 1 && Object.keys(m).length <= 3, 'legacy: N (+1) alternatives');
  const hot = (await ok({ max_tokens: 6, temperature: 2, seed: 3, logprobs: 1, ignore_eos: true })).choices[0].logprobs;
  hot.tokens.forEach((tok, i) => {
    const m = hot.top_logprobs[i];
    assert(Object.keys(m).length <= 2 && Math.abs(m[tok] - hot.token_logprobs[i]) < 1e-4, 'legacy: the sampled token is in top_logprobs: ' + JSON.stringify(m));
  });
  eq((await ok({ max_tokens: 2, logprobs: 0 })).choices[0].logprobs.top_logprobs, null, 'logprobs 0: top_logprobs null');
  eq((await ok({ max_tokens: 2, logprobs: false, top_logprobs: 3 })).choices[0].logprobs, null, 'logprobs false');
  eq((await ok({ max_tokens: 2 })).choices[0].logprobs, null, 'logprobs unset');
  detail(await chat({ logprobs: 6 }), ['body', 'logprobs', 'int'], 'less_than_equal');
});

await field('top_logprobs', async () => {
  const l = (await ok({ max_tokens: 2, temperature: 0, logprobs: 4, top_logprobs: 1 })).choices[0].logprobs;
  for (const m of l.top_logprobs) eq(Object.keys(m).length, 1, 'top_logprobs overrides the integer N');
  detail(await chat({ top_logprobs: 6 }), ['body', 'top_logprobs'], 'less_than_equal');
});

await field('echo', async () => {
  const args = { max_tokens: 3, temperature: 0, ignore_eos: true };
  const plain = content(await ok(args));
  const e = content(await ok({ ...args, echo: true }));
  assert(e.endsWith(plain) && e.length > plain.length && e.includes('Hi'), 'echo: prompt before the completion: ' + e);
  const s = await stream({ ...args, echo: true });
  eq(s.chunks.map(c => c.choices[0].delta.content || '').join(''), e, 'streamed echo');
  const last = content(await ok({ ...args, echo_last: 2 }));
  const prefix = last.slice(0, last.length - plain.length);
  assert(last.endsWith(plain) && prefix.length > 0 && e.slice(0, e.length - plain.length).endsWith(prefix) &&
         prefix.length < e.length - plain.length, 'echo_last 2: the last prompt tokens only: ' + JSON.stringify(prefix));
  detail(await chat({ echo_last: -1 }), ['body', 'echo_last'], 'greater_than_equal');
});

await field('ignore_eos', async () => {
  const bias = { logit_bias: { [eos]: 100 }, max_tokens: 4 };
  const a = await ok(bias);
  eq([a.choices[0].finish_reason, content(a), a.usage.completion_tokens], ['stop', '', 1], 'EOS ends the output');
  const b = await ok({ ...bias, ignore_eos: true });
  eq([b.choices[0].finish_reason, b.usage.completion_tokens], ['length', 4], 'ignore_eos keeps going');
  detail(await chat({ ignore_eos: null }), ['body', 'ignore_eos'], 'bool_type');
});

await field('context_length_exceeded_behavior', async () => {
  const t = await ok({ max_tokens: 100000, ignore_eos: true });
  assert(t.usage.total_tokens <= maxContext && t.usage.total_tokens >= maxContext - 2, 'truncate: fills the context: ' + JSON.stringify(t.usage));
  eq(t.choices[0].finish_reason, 'length', 'truncate: finish_reason');
  const r = await chat({ max_tokens: 400, context_length_exceeded_behavior: 'error' });
  errorShape(r, 400, 'context_length_exceeded');
  assert(/400/.test(r.json.error.message) && /320/.test(r.json.error.message), 'error names both lengths: ' + r.json.error.message);
  errorShape(await chat({ max_tokens: 1 }, [{ role: 'user', content: 'word '.repeat(400) }]), 400, 'context_length_exceeded');
  detail(await chat({ context_length_exceeded_behavior: 'drop' }), ['body', 'context_length_exceeded_behavior'], 'literal_error');
});

await field('logit_bias', async () => {
  const g = (await greedy(3)).choices[0].token_ids;
  const banned = (await ok({ max_tokens: 3, temperature: 0, return_token_ids: true, ignore_eos: true, logit_bias: { [g[0]]: -100 } })).choices[0].token_ids;
  assert(!banned.includes(g[0]), '-100 bans the token');
  const forced = (await ok({ max_tokens: 3, temperature: 1, seed: 5, return_token_ids: true, ignore_eos: true, logit_bias: { 9707: 100 } })).choices[0].token_ids;
  eq(forced, [9707, 9707, 9707], '+100 forces the token');
  detail(await chat({ logit_bias: { 5: 101 } }), ['body', 'logit_bias', '5'], 'less_than_equal');
});

await field('logit_bias.vocab', async () => {
  // a token id past the vocabulary is the client's error, as for speculation
  errorShape(await chat({ max_tokens: 1, logit_bias: { 999999999: 1 } }), 400);
  errorShape(await chat({ max_tokens: 1, logit_bias: { 999999999: 1 }, stream: true }), 400);
});

await field('user', async () => {
  const messages = [{ role: 'user', content: uniq(60) }];
  const cached = async extra => (await ok({ max_tokens: 2, ...extra }, messages)).usage.prompt_tokens_details.cached_tokens;
  await cached({ user: 'alice' });
  assert(await cached({ user: 'alice' }) > 0, 'the same user hits the prefix cache');
  eq(await cached({ user: 'bob' }), 0, 'another user does not');
});

await field('prompt_cache_isolation_key', async () => {
  const messages = [{ role: 'user', content: uniq(60) }];
  const cached = async extra => (await ok({ max_tokens: 2, ...extra }, messages)).usage.prompt_tokens_details.cached_tokens;
  await cached({ prompt_cache_isolation_key: 'k1', user: 'alice' });
  assert(await cached({ prompt_cache_isolation_key: 'k1', user: 'bob' }) > 0, 'the key wins over user');
  eq(await cached({ prompt_cache_isolation_key: 'k2', user: 'alice' }), 0, 'another key does not share');
  detail(await chat({ prompt_cache_isolation_key: 1 }), ['body', 'prompt_cache_isolation_key'], 'string_type');
});

await field('prefix-cache.max_tokens-1', async () => {
  // a request that ends in its prefill step still leaves its prompt cached
  const messages = [{ role: 'user', content: uniq(60) }];
  await ok({ max_tokens: 1 }, messages);
  assert((await ok({ max_tokens: 1 }, messages)).usage.prompt_tokens_details.cached_tokens > 0, 'no cache hit after a max_tokens 1 request');
});

await field('raw_output', async () => {
  const j = await ok({ max_tokens: 3, temperature: 0, raw_output: true, return_token_ids: true, ignore_eos: true });
  const r = j.choices[0].raw_output;
  eq(r.prompt_token_ids, j.prompt_token_ids, 'prompt_token_ids');
  eq(r.completion, content(j), 'completion (no parsing here)');
  eq(r.completion_token_ids, j.choices[0].token_ids, 'completion_token_ids');
  assert(r.prompt_fragments.some(f => typeof f === 'string' && f.includes('Hi')), 'prompt_fragments');
  assert(!('raw_output' in (await ok({ max_tokens: 1 })).choices[0]), 'absent unless asked');
});

await field('raw_output.stream', async () => {
  // the spec's stream choice has raw_output: on each choice's last chunk
  const args = { max_tokens: 3, temperature: 0, ignore_eos: true, raw_output: true, n: 2, logprobs: true };
  const whole = await ok(args);
  const { chunks } = await stream(args);
  for (const i of [0, 1]) {
    const mine = chunks.filter(c => c.choices[0].index === i);
    const at = mine.map((c, k) => c.choices[0].raw_output ? k : -1).filter(k => k >= 0);
    eq(at, [mine.length - 1], `choice ${i}: chunks carrying raw_output`);
    const raw = mine[mine.length - 1].choices[0].raw_output;
    conformRaw(raw, 'chunk raw_output');
    eq(raw, whole.choices[i].raw_output, `choice ${i}: the same raw_output as without stream`);
  }
});

await field('perf_metrics_in_response', async () => {
  const r = await chat({ max_tokens: 2 });
  for (const h of ['fireworks-prompt-tokens', 'fireworks-cached-prompt-tokens', 'fireworks-server-time-to-first-token', 'fireworks-server-processing-time'])
    assert(r.headers.get(h) !== null && !isNaN(Number(r.headers.get(h))), 'header ' + h);
  assert(!('perf_metrics' in r.json), 'absent unless asked');
  const p = (await ok({ max_tokens: 2, perf_metrics_in_response: true })).perf_metrics;
  eq(p['prompt-tokens'], Number(r.headers.get('fireworks-prompt-tokens')), 'prompt-tokens');
  for (const k of ['cached-prompt-tokens', 'server-time-to-first-token', 'server-processing-time'])
    assert(typeof p[k] === 'number' && p[k] >= 0, 'perf_metrics ' + k);
  const s = await stream({ max_tokens: 2, perf_metrics_in_response: true });
  s.chunks.forEach((c, i) => assert(('perf_metrics' in c) === (i === s.chunks.length - 1), 'stream: perf_metrics in the final chunk only'));
});

await field('return_token_ids', async () => {
  const j = await ok({ max_tokens: 4, ignore_eos: true, return_token_ids: true });
  eq(j.choices[0].token_ids.length, 4, 'token_ids per output token');
  eq(j.prompt_token_ids.length, j.usage.prompt_tokens, 'prompt_token_ids');
  const s = await stream({ max_tokens: 2, return_token_ids: true });
  eq(s.chunks[0].prompt_token_ids, j.prompt_token_ids, 'stream: prompt_token_ids in the first chunk');
  assert(s.chunks.slice(1).every(c => !('prompt_token_ids' in c)), 'stream: only in the first chunk');
  assert(!('token_ids' in (await ok({ max_tokens: 1 })).choices[0]), 'absent unless asked');
});

await field('prompt_truncate_len', async () => {
  const msgs = [{ role: 'system', content: 'SYS' }, { role: 'user', content: 'OLDQ ' + uniq(20) }, { role: 'assistant', content: 'OLDA' },
                { role: 'user', content: 'NEWQ' }];
  const all = await ok({ max_tokens: 1, raw_output: true }, msgs);
  const cut = await ok({ max_tokens: 1, raw_output: true, prompt_truncate_len: 20 }, msgs);
  const p = promptText(cut);
  assert(cut.usage.prompt_tokens < all.usage.prompt_tokens, 'prompt not shortened');
  assert(p.includes('SYS') && p.includes('NEWQ') && !p.includes('OLDQ'), 'oldest non-system messages dropped first: ' + p);
  detail(await chat({ prompt_truncate_len: -1 }), ['body', 'prompt_truncate_len'], 'greater_than_equal');
});

await field('speculation', async () => {
  const g = await greedy(6);
  const ids = g.choices[0].token_ids;
  for (const draft of [ids, [1, 2, 3, 4], 'some draft text']) {
    const j = await ok({ max_tokens: 6, temperature: 0, ignore_eos: true, speculation: draft, perf_metrics_in_response: true });
    eq(content(j), content(g), 'a draft never changes the output');
    assert(j.perf_metrics['speculation-prompt-tokens'] > 0, 'speculation-prompt-tokens');
  }
  errorShape(await chat({ max_tokens: 1, speculation: [999999999] }), 400);
  detail(await chat({ speculation: [-1] }), ['body', 'speculation', 'list[int]', 0], 'greater_than_equal');
});

await field('prediction', async () => {
  for (const prediction of ['draft', { type: 'content', content: 'draft' }, { content: [{ type: 'text', text: 'dr' }, { type: 'text', text: 'aft' }] }]) {
    const p = (await ok({ max_tokens: 2, prediction, perf_metrics_in_response: true })).perf_metrics;
    assert(p['speculation-prompt-tokens'] > 0, 'mapped to speculation: ' + JSON.stringify(prediction));
  }
  detail(await chat({ prediction: 'a', speculation: 'b' }), ['body'], 'value_error');
});

await field('speculation.matched', async () => {
  // a draft equal to the output matches every token, the first one included
  const g = await greedy(6);
  const p = (await ok({ max_tokens: 6, temperature: 0, ignore_eos: true, speculation: g.choices[0].token_ids, perf_metrics_in_response: true })).perf_metrics;
  eq([p['speculation-prompt-tokens'], p['speculation-prompt-matched-tokens'], p['speculation-generated-tokens']], [6, 6, 6], 'all matched');
  const first = [g.choices[0].token_ids[0], ...g.choices[0].token_ids.slice(1).map(t => t === 0 ? 1 : 0)];
  eq((await ok({ max_tokens: 6, temperature: 0, ignore_eos: true, speculation: first, perf_metrics_in_response: true })).perf_metrics['speculation-prompt-matched-tokens'], 1, 'only the first');
});

await field('metadata', async () => {
  const tag = 'spec-meta-' + process.pid;
  await ok({ max_tokens: 1, metadata: { trace: tag } });
  detail(await chat({ metadata: { a: 1 } }), ['body', 'metadata', 'a'], 'string_type');
  // docs/api.md: "Kept with the request for logs"
  await new Promise(res => setTimeout(res, 200));
  const log = (await import('node:fs')).readFileSync(process.env.FW_LOG, 'utf8');
  assert(log.includes(tag), 'metadata is not in the request log');
});

await field('reasoning_effort', async () => {
  const p = async extra => promptText(await ok({ max_tokens: 1, raw_output: true, ...extra }));
  const dflt = await p({});
  const none = await p({ reasoning_effort: 'none' });
  assert(none !== dflt, 'none changes the prompt');
  eq(await p({ reasoning_effort: false }), none, 'false = "none"');
  eq(await p({ reasoning_effort: true }), await p({ reasoning_effort: 'medium' }), 'true = "medium"');
  await p({ reasoning_effort: 2048 });
  detail(await chat({ reasoning_effort: 0 }), ['body', 'reasoning_effort'], 'value_error');
});

await field('thinking', async () => {
  const p = async extra => promptText(await ok({ max_tokens: 1, raw_output: true, ...extra }));
  eq(await p({ thinking: { type: 'disabled' } }), await p({ reasoning_effort: 'none' }), 'disabled = reasoning_effort none');
  eq(await p({ thinking: { type: 'enabled', budget_tokens: 2048 } }), await p({ reasoning_effort: true }), 'enabled = reasoning_effort true');
  detail(await chat({ thinking: { type: 'enabled', budget_tokens: 10 } }), ['body', 'thinking', 'ThinkingConfigEnabled', 'budget_tokens'], 'greater_than_equal');
  detail(await chat({ thinking: { type: 'disabled' }, reasoning_effort: 'low' }), ['body'], 'value_error');
});

await field('reasoning_history', async () => {
  const msgs = [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1', reasoning_content: 'OLDTHINK' },
                { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2', reasoning_content: 'NEWTHINK' },
                { role: 'tool', content: 'r' }];
  const p = async h => promptText(await ok({ max_tokens: 1, raw_output: true, reasoning_history: h }, msgs));
  const inter = await p('interleaved');
  assert(!inter.includes('OLDTHINK') && inter.includes('NEWTHINK'), 'interleaved: ' + inter);
  const off = await p('disabled');
  assert(!off.includes('OLDTHINK') && !off.includes('NEWTHINK'), 'disabled: ' + off);
  detail(await chat({ reasoning_history: 'all' }), ['body', 'reasoning_history'], 'literal_error');
});

const tools = [{ type: 'function', function: { name: 'get_w', description: 'TOOLDESC',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const grammarOf = async extra => (await ok({ max_tokens: 1, raw_output: true, tools, ...extra })).choices[0].raw_output.grammar;
// Output text that is exactly one Qwen3 tool call, whatever the weights.
const callGrammar = { type: 'grammar', grammar: 'root ::= "<tool_call>\\n{\\"name\\": \\"get_w\\", \\"arguments\\": {\\"city\\": \\"x\\"}}\\n</tool_call>" [ ]*' };
// A grammar constrains the output after the reasoning (docs/api.md,
// "Reasoning budgets"): with thinking on, the random weights may open <think>
// and never close it.  Thinking off puts the whole output under the grammar;
// tests/test_reasoning_budget.sh covers a grammar after (budgeted) reasoning.
const noThink = { reasoning_effort: 'none' };
const oneCall = { tools, response_format: callGrammar, ...noThink, max_tokens: 100, temperature: 0, logit_bias: { [eos]: 100 } };

await field('tools', async () => {
  const p = promptText(await ok({ max_tokens: 1, raw_output: true, tools }));
  assert(p.includes('get_w') && p.includes('TOOLDESC'), 'tools rendered into the prompt');
  const j = await ok(oneCall);
  const m = j.choices[0].message;
  eq(j.choices[0].finish_reason, 'tool_calls', 'finish_reason');
  eq(m.tool_calls.length, 1, 'one tool call parsed');
  eq([m.tool_calls[0].function.name, JSON.parse(m.tool_calls[0].function.arguments)], ['get_w', { city: 'x' }], 'call');
  assert(!m.content, 'no content besides the call');
  const s = await stream(oneCall);
  eq(s.chunks[s.chunks.length - 1].choices[0].finish_reason, 'tool_calls', 'streamed finish_reason');
  let name = '', args = '', id = null;
  for (const c of s.chunks) for (const t of c.choices[0].delta.tool_calls || []) {
    if (t.id) id = t.id;
    name += (t.function && t.function.name) || '';
    args += (t.function && t.function.arguments) || '';
  }
  eq([name, JSON.parse(args)], ['get_w', { city: 'x' }], 'streamed call');
  assert(id, 'streamed call id');
  // a call cut by max_tokens is neither a call nor content (docs/api.md)
  for (const max_tokens of [1, 3, 12]) {
    const cut = (await ok({ ...oneCall, max_tokens })).choices[0];
    eq([cut.finish_reason, cut.message.content || '', cut.message.tool_calls], ['length', '', undefined], `call cut at ${max_tokens} tokens`);
  }
  detail(await chat({ tools: [{ type: 'function', function: { name: 'bad name' } }] }), ['body', 'tools', 0, 'function', 'name'], 'string_pattern_mismatch');
});

await field('tool_choice', async () => {
  eq(await grammarOf({}), undefined, 'auto: no grammar');
  for (const tc of ['required', 'any', { type: 'function', function: { name: 'get_w' } }, { type: 'function', name: 'get_w' }]) {
    const g = await grammarOf({ tool_choice: tc });
    assert(g && g.includes('get_w'), 'forced by a grammar: ' + JSON.stringify(tc));
  }
  detail(await chat({ tools, tool_choice: { type: 'function', function: { name: 'nope' } } }), ['body', 'tool_choice'], 'value_error');
});

await field('tool_choice.none', async () => {
  eq(await grammarOf({ tool_choice: 'none' }), undefined, 'none: no grammar');
  // "none forbids one": a call in the output is not returned as a call, its
  // JSON stays in content (docs/api.md); reasoning off: the call is the output
  const args = { tools, response_format: callGrammar, max_tokens: 80, temperature: 0, logit_bias: { [eos]: 100 }, reasoning_effort: 'none' };
  const m = (await ok({ ...args, tool_choice: 'none' })).choices[0];
  assert(!m.message.tool_calls, 'tool_choice none still returned tool_calls');
  eq([m.finish_reason, JSON.parse(m.message.content)], ['stop', { name: 'get_w', arguments: { city: 'x' } }], 'the call as content');
  const s = await stream({ ...args, tool_choice: 'none' });
  assert(s.chunks.every(c => !c.choices[0].delta.tool_calls), 'stream: no tool_calls');
  eq(s.chunks.map(c => c.choices[0].delta.content || '').join(''), m.message.content, 'stream: the call as content');
  eq((await ok(args)).choices[0].message.tool_calls.length, 1, 'auto: the same output is a call');
});

await field('parallel_tool_calls', async () => {
  const one = await grammarOf({ tool_choice: 'required', parallel_tool_calls: false });
  const many = await grammarOf({ tool_choice: 'required' });
  assert(one !== many, 'parallel_tool_calls false does not change the tool grammar');
  // tool_choice auto: the first of two calls only, as vLLM (docs/api.md)
  const call = city => `"<tool_call>\\n{\\"name\\": \\"get_w\\", \\"arguments\\": {\\"city\\": \\"${city}\\"}}\\n</tool_call>"`;
  const two = { ...oneCall, response_format: { type: 'grammar', grammar: `root ::= ${call('a')} "\\n" ${call('b')} [ ]*` }, max_tokens: 100 };
  const args = c => c.message.tool_calls.map(t => JSON.parse(t.function.arguments).city);
  eq(args((await ok(two)).choices[0]), ['a', 'b'], 'parallel: both calls');
  const m = (await ok({ ...two, parallel_tool_calls: false })).choices[0];
  eq([m.finish_reason, args(m), m.message.content || ''], ['tool_calls', ['a'], ''], 'parallel_tool_calls false: the first call');
  const s = await stream({ ...two, parallel_tool_calls: false });
  const calls = s.chunks.flatMap(ch => ch.choices[0].delta.tool_calls || []);
  eq([...new Set(calls.map(t => t.index))], [0], 'streamed: call index 0 only');
  eq(JSON.parse(calls.map(t => (t.function && t.function.arguments) || '').join('')), { city: 'a' }, 'streamed: the first call');
  eq(s.chunks.map(ch => ch.choices[0].delta.content || '').join(''), '', 'streamed: no content');
});

await field('functions', async () => {
  const functions = [tools[0].function];
  const g = (await ok({ max_tokens: 1, raw_output: true, functions, function_call: { name: 'get_w' } })).choices[0].raw_output.grammar;
  assert(g && g.includes('get_w'), 'function_call {name} forces the function');
  const p = promptText(await ok({ max_tokens: 1, raw_output: true, functions }));
  assert(p.includes('TOOLDESC'), 'functions rendered as tools');
  detail(await chat({ functions, tools }), ['body'], 'value_error');
  detail(await chat({ functions, function_call: 'auto', tool_choice: 'auto' }), ['body'], 'value_error');
});

await field('response_format', async () => {
  let stopped = 0;
  for (const seed of [1, 2, 3]) {
    const j = await ok({ response_format: { type: 'json_object' }, ...noThink, max_tokens: 60, temperature: 1, seed });
    if (j.choices[0].finish_reason !== 'stop') continue;
    stopped++;
    const v = JSON.parse(content(j));
    assert(v && typeof v === 'object' && !Array.isArray(v), 'json_object: an object');
  }
  assert(stopped > 0, 'json_object: no output finished in 60 tokens');
  stopped = 0;
  const schema = { type: 'object', properties: { a: { type: 'integer' }, b: { enum: ['x', 'y'] } }, required: ['a', 'b'], additionalProperties: false };
  for (const rf of [{ type: 'json_schema', json_schema: { name: 's', schema } }, { type: 'json_schema', json_schema: JSON.stringify(schema) },
                    { type: 'json_object', schema }]) {
    const r = (await ok({ response_format: rf, ...noThink, max_tokens: 120, temperature: 1, seed: 2, raw_output: true })).choices[0];
    assert(r.raw_output.grammar, 'the schema is the grammar');
    if (r.finish_reason !== 'stop') continue;
    stopped++;
    const v = JSON.parse(r.message.content);
    assert(Number.isInteger(v.a) && ['x', 'y'].includes(v.b) && Object.keys(v).length === 2, 'schema shape: ' + r.message.content);
  }
  assert(stopped > 0, 'json_schema: no output finished in 120 tokens');
  assert((await ok({ response_format: { type: 'json_schema', schema }, max_tokens: 1, raw_output: true })).choices[0].raw_output.grammar,
         'json_schema given as schema');
  eq((await ok({ response_format: { type: 'text' }, max_tokens: 1, raw_output: true })).choices[0].raw_output.grammar, undefined, 'text: no grammar');
  detail(await chat({ response_format: { type: 'json_schema' } }), ['body', 'response_format'], 'value_error');
});

await field('response_format.grammar', async () => {
  // the output is exactly the grammar's one sentence, last token included
  const rf = grammar => ({ response_format: { type: 'grammar', grammar }, max_tokens: 20, temperature: 1, seed: 3, reasoning_effort: 'none' });
  const j = await ok(rf('root ::= "hello world"'));
  eq([content(j), j.choices[0].finish_reason], ['hello world', 'stop'], 'grammar output');
  for (const seed of [1, 2, 3]) {
    const y = (await ok({ ...rf('root ::= "yes" | "no"'), seed })).choices[0];
    assert(['yes', 'no'].includes(y.message.content) && y.finish_reason === 'stop', 'yes|no: ' + JSON.stringify(y));
  }
  const s = await stream(rf('root ::= "hello world"'));
  eq(s.chunks.map(c => c.choices[0].delta.content || '').join(''), 'hello world', 'streamed');
});

await field('response_format.invalid', async () => {
  // a grammar or schema that does not compile is a 422 before anything runs
  const bad = { type: 'grammar', grammar: 'root ::= ((' };
  detail(await chat({ response_format: bad, max_tokens: 1 }), ['body', 'response_format', 'grammar'], 'value_error');
  detail(await chat({ response_format: bad, max_tokens: 1, stream: true }), ['body', 'response_format', 'grammar'], 'value_error');
  const schema = { type: 'object', patternProperties: { a: {} } };
  detail(await chat({ response_format: { type: 'json_schema', json_schema: { name: 's', schema } } }), ['body', 'response_format'], 'value_error');
  detail(await chat({ response_format: { type: 'json_object', schema: { type: 'wat' } } }), ['body', 'response_format'], 'value_error');
  await ok({ response_format: { type: 'grammar', grammar: 'root ::= "ok"' }, max_tokens: 1 }); // still serving
});

await field('response_format.no-stall', async () => {
  // a new schema is compiled with the vocabulary on the scheduler thread:
  // the HTTP thread only checks it, so other connections do not wait
  // (docs/api.md); /health is timed while new schemas arrive
  const nonce = Date.now().toString(36);
  const reqs = [0, 1, 2, 3, 4, 5, 6, 7].map(k => {
    const properties = {};
    for (let i = 0; i < 12; i++) properties[`p${nonce}_${k}_${i}`] = { type: i % 2 ? 'string' : 'integer' };
    return chat({ response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object', properties } } }, max_tokens: 1 });
  });
  let worst = 0, done = false;
  const all = Promise.all(reqs).finally(() => { done = true; });
  while (!done) {
    const t0 = performance.now();
    const h = await fetch(base + '/health');
    await h.text();
    worst = Math.max(worst, performance.now() - t0);
  }
  for (const r of await all) assert(r.status === 200, `status ${r.status}: ${r.text.slice(0, 200)}`);
  assert(worst < 100, `/health took ${worst.toFixed(1)} ms while schemas compiled`);
  console.log(`# /health worst ${worst.toFixed(1)} ms`);
});

// ---- response objects and errors ------------------------------------------
await field('response.reasoning_content', async () => {
  // thinking off: the grammar writes the think block itself (see noThink)
  const rf = { type: 'grammar', grammar: 'root ::= "<think>\\nTHOUGHT\\n</think>\\n\\nANSWER" [ ]*' };
  const m = (await ok({ response_format: rf, ...noThink, max_tokens: 20, temperature: 0 })).choices[0].message;
  eq([m.reasoning_content, m.content], ['THOUGHT', 'ANSWER'], 'reasoning split from content');
  const s = await stream({ response_format: rf, ...noThink, max_tokens: 20, temperature: 0 });
  eq(s.chunks.map(c => c.choices[0].delta.reasoning_content || '').join(''), 'THOUGHT', 'streamed reasoning_content');
});

await field('response.finish_reason', async () => {
  eq((await ok({ max_tokens: 1, ignore_eos: true })).choices[0].finish_reason, 'length', 'length');
  eq((await ok({ max_tokens: 4, logit_bias: { [eos]: 100 } })).choices[0].finish_reason, 'stop', 'stop');
  const call = (await ok(oneCall)).choices[0];
  eq([call.finish_reason, call.message.tool_calls.length], ['tool_calls', 1], 'tool_calls');
  const s = await stream({ max_tokens: 3, ignore_eos: true });
  s.chunks.forEach((c, i) => eq(c.choices[0].finish_reason, i === s.chunks.length - 1 ? 'length' : null, `chunk ${i} finish_reason`));
});

await field('errors', async () => {
  const r401 = await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  errorShape({ status: r401.status, headers: r401.headers, text: await r401.clone().text(), json: await r401.json() }, 401, 'invalid_api_key');
  const get = await fetch(base + '/v1/chat/completions', { headers: { Authorization: 'Bearer ' + key } });
  errorShape({ status: get.status, headers: get.headers, text: '', json: await get.json() }, 405, 'method_not_allowed');
  const nf = await fetch(base + '/v1/nothing', { headers: { Authorization: 'Bearer ' + key } });
  errorShape({ status: nf.status, headers: nf.headers, text: '', json: await nf.json() }, 404, 'not_found');
  errorShape(await post('{"model": '), 400, 'invalid_request_error');
  errorShape(await post(Buffer.from('{"model":"m","messages":[{"role":"user","content":"\xff"}]}', 'latin1')), 400);
  errorShape(await post(JSON.stringify({ model, messages: hi }), { 'Content-Type': 'text/plain' }), 400);
  detail(await post('[1]'), ['body'], 'model_attributes_type');
  detail(await post(''), ['body'], 'missing');
});

await field('errors.413', async () => {
  errorShape(await chat({}, [{ role: 'user', content: 'a'.repeat(70000) }]), 413);
});

console.log(`# ${failed} failed`);
process.exit(failed ? 1 : 0);
EOF

# Gaps found by this audit and reported to the owners of the code
# (engine.c, runner.c, api_request.c, the qwen3 template, libevent's 413).
KNOWN=errors.413

eos=$(node -e 'const c=require(process.argv[1]); console.log(Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id)' "$tmp/qwen3/config.json")
FW_BASE=$base FW_KEY=$key FW_EOS=$eos FW_KNOWN=${FW_SPEC_KNOWN-$KNOWN} FW_LOG=$tmp/server.log \
    timeout 120 node "$tmp/spec.mjs" || fail=1
if [ $fail -ne 0 ]; then echo "--- server log"; tail -n 20 "$tmp/server.log"; fi
exit $fail
