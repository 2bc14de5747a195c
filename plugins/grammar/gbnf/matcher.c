/* plugins/grammar/gbnf/matcher.c -- the pushdown matcher and the token mask.
 *
 * A parse position is a stack of grammar positions (llama.cpp style): the
 * top is a byte-set terminal, the entries below are where to continue when
 * the rule above finishes; the empty stack means "complete".  The matcher
 * state is the set of all live stacks, so ambiguity costs breadth, never
 * backtracking.
 *
 * Everything is hash-consed: a stack is (position, parent stack) and a state
 * is a sorted set of stack ids, so a state is an int and transitions
 * (state, byte) -> state are memoised in 256-entry rows: the matcher lazily
 * builds the DFA of the part of the grammar the vocabulary walk touches.
 * The mask is then one preorder pass over the vocabulary trie with a table
 * lookup per node (dead prefixes skip their whole subtree), and the masks of
 * states seen before are cached outright.
 */
#include "gbnf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_UNKNOWN (-2)
#define STATE_DEAD (-1)
#define MAX_STACK_DEPTH 2048      /* deeper nesting is rejected */
#define EXPAND_BUDGET (1 << 17)   /* work per transition before giving up: an
                                     ambiguous grammar could otherwise make one
                                     step arbitrarily slow; such paths die */
#define MAX_STATE_STACKS 8192     /* live stacks in one state, likewise */
#define MAX_RECURSION 20000       /* C stack guard for expand() on long rule chains */
#define ROW_CAP 32768             /* memoised rows (1 KiB each) before flushing */
#define STACK_CAP (1 << 21)       /* interned stacks before flushing */
#define STATE_CAP (1 << 18)       /* interned states before flushing */
#define MASK_SLOTS 16             /* cached masks */

typedef struct gb_stack {
    int32_t pos;    /* element index; -1 for the empty stack */
    int32_t parent; /* stack id below; -1 for the empty stack */
    int32_t depth;
} gb_stack;

struct fw_matcher {
    const fw_grammar *g;

    gb_stack *stk; /* stack id 0 = the empty stack */
    int32_t n_stk, cap_stk;
    int32_t *stk_tab; /* open addressing: stack id + 1, 0 = free */
    uint32_t stk_tab_cap;

    int32_t *st_off, *st_len; /* state -> slice of st_pool */
    uint8_t *st_accept;
    int32_t *st_text;          /* state -> text budget (text_budget), -1 unknown */
    int32_t **rows;            /* state -> 256 transitions, lazily */
    int32_t *st_mask;          /* state -> mask slot or -1 */
    int32_t n_st, cap_st;
    int32_t *st_pool;
    size_t pool_len, pool_cap;
    int32_t *st_tab; /* open addressing: state id + 1 */
    uint32_t st_tab_cap;
    int32_t n_rows;

    /* one transition's scratch */
    int32_t *res;
    int32_t n_res, cap_res;
    uint64_t *vis_key;
    uint32_t *vis_gen;
    uint32_t vis_cap, vis_count, gen;
    int32_t budget;
    int32_t recursion;
    int overflow;

    uint32_t *masks; /* (MASK_SLOTS, n_words) */
    int32_t slot_state[MASK_SLOTS];
    int32_t next_slot;
    int32_t n_words;

    int32_t *walk_st;    /* (max_depth + 1) */
    int32_t **walk_row;  /* (max_depth + 1) */

    int32_t cur;
    int finished; /* eos accepted */
    int oom;
};

static uint32_t hash2(uint32_t a, uint32_t b)
{
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 29);
}

static int grow(void **p, int32_t *cap, int32_t need, size_t elem)
{
    int32_t c = *cap ? *cap : 64;
    void *np;
    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    np = realloc(*p, (size_t)c * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = c;
    return 0;
}

/* ---- stacks ---- */

static int rehash_stacks(fw_matcher *m, uint32_t cap)
{
    int32_t *tab = calloc(cap, sizeof *tab), i;
    if (!tab)
        return -1;
    for (i = 1; i < m->n_stk; i++) {
        uint32_t h = hash2((uint32_t)m->stk[i].pos, (uint32_t)m->stk[i].parent) & (cap - 1);
        while (tab[h])
            h = (h + 1) & (cap - 1);
        tab[h] = i + 1;
    }
    free(m->stk_tab);
    m->stk_tab = tab;
    m->stk_tab_cap = cap;
    return 0;
}

static int32_t intern_stack(fw_matcher *m, int32_t pos, int32_t parent)
{
    uint32_t h;
    int32_t id;

    if ((uint32_t)m->n_stk * 2 >= m->stk_tab_cap &&
        rehash_stacks(m, m->stk_tab_cap ? m->stk_tab_cap * 2 : 1024) != 0)
        return m->oom = 1, -1;
    h = hash2((uint32_t)pos, (uint32_t)parent) & (m->stk_tab_cap - 1);
    while (m->stk_tab[h]) {
        id = m->stk_tab[h] - 1;
        if (m->stk[id].pos == pos && m->stk[id].parent == parent)
            return id;
        h = (h + 1) & (m->stk_tab_cap - 1);
    }
    if (grow((void **)&m->stk, &m->cap_stk, m->n_stk + 1, sizeof *m->stk) != 0)
        return m->oom = 1, -1;
    id = m->n_stk++;
    m->stk[id].pos = pos;
    m->stk[id].parent = parent;
    m->stk[id].depth = m->stk[parent].depth + 1;
    m->stk_tab[h] = id + 1;
    return id;
}

/* ---- expansion: advance a position until every stack top is a terminal ---- */

static int visit(fw_matcher *m, int32_t pos, int32_t parent)
{
    uint64_t key = (uint64_t)(uint32_t)pos << 32 | (uint32_t)parent;
    uint32_t h;

    if (m->vis_count * 2 >= m->vis_cap) {
        uint32_t cap = m->vis_cap ? m->vis_cap * 2 : 1024, i;
        uint64_t *nk = malloc(cap * sizeof *nk);
        uint32_t *ng = calloc(cap, sizeof *ng);
        if (!nk || !ng) {
            free(nk);
            free(ng);
            m->oom = 1;
            return 0;
        }
        for (i = 0; i < m->vis_cap; i++) {
            if (m->vis_gen[i] == m->gen) {
                uint32_t j = hash2((uint32_t)(m->vis_key[i] >> 32), (uint32_t)m->vis_key[i]) &
                             (cap - 1);
                while (ng[j] == m->gen)
                    j = (j + 1) & (cap - 1);
                nk[j] = m->vis_key[i];
                ng[j] = m->gen;
            }
        }
        free(m->vis_key);
        free(m->vis_gen);
        m->vis_key = nk;
        m->vis_gen = ng;
        m->vis_cap = cap;
    }
    h = hash2((uint32_t)pos, (uint32_t)parent) & (m->vis_cap - 1);
    while (m->vis_gen[h] == m->gen) {
        if (m->vis_key[h] == key)
            return 0;
        h = (h + 1) & (m->vis_cap - 1);
    }
    m->vis_gen[h] = m->gen;
    m->vis_key[h] = key;
    m->vis_count++;
    return 1;
}

static void add_result(fw_matcher *m, int32_t id)
{
    if (m->n_res >= MAX_STATE_STACKS) {
        m->overflow = 1;
        return;
    }
    if (grow((void **)&m->res, &m->cap_res, m->n_res + 1, sizeof *m->res) != 0) {
        m->oom = 1;
        return;
    }
    m->res[m->n_res++] = id;
}

static void expand(fw_matcher *m, int32_t pos, int32_t parent)
{
    const gb_ir *ir = &m->g->ir;
    const gb_elem *e = &ir->elems[pos];

    if (m->oom || m->overflow)
        return;
    if (--m->budget < 0) {
        m->overflow = 1;
        return;
    }
    if (!visit(m, pos, parent))
        return;
    if (++m->recursion > MAX_RECURSION) {
        m->overflow = 1;
        return;
    }
    if (e->kind == GB_END) {
        if (parent == 0)
            add_result(m, 0);
        else
            expand(m, m->stk[parent].pos, m->stk[parent].parent);
    } else if (e->kind == GB_TERM) {
        /* past the nesting limit this path dies */
        int32_t id = m->stk[parent].depth < MAX_STACK_DEPTH ? intern_stack(m, pos, parent) : -1;
        if (id >= 0)
            add_result(m, id);
    } else {
        const gb_rule *r = &ir->rules[e->val];
        int32_t np = parent, a;
        if (ir->elems[pos + 1].kind != GB_END) /* tail references push nothing */
            np = m->stk[parent].depth < MAX_STACK_DEPTH ? intern_stack(m, pos + 1, parent) : -1;
        for (a = 0; np >= 0 && a < r->n_alts; a++)
            expand(m, ir->alt_start[r->first_alt + a], np);
    }
    m->recursion--;
}

/* ---- states ---- */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t hash_set(const int32_t *v, int32_t n)
{
    uint32_t h = 2166136261u;
    int32_t i;
    for (i = 0; i < n; i++)
        h = (h ^ (uint32_t)v[i]) * 16777619u;
    return h ^ (h >> 15);
}

static int rehash_states(fw_matcher *m, uint32_t cap)
{
    int32_t *tab = calloc(cap, sizeof *tab), i;
    if (!tab)
        return -1;
    for (i = 0; i < m->n_st; i++) {
        uint32_t h = hash_set(m->st_pool + m->st_off[i], m->st_len[i]) & (cap - 1);
        while (tab[h])
            h = (h + 1) & (cap - 1);
        tab[h] = i + 1;
    }
    free(m->st_tab);
    m->st_tab = tab;
    m->st_tab_cap = cap;
    return 0;
}

/* Interns m->res (sorted, unique) as a state. */
static int32_t intern_state(fw_matcher *m)
{
    int32_t n = m->n_res, id, i, w = 0;
    uint32_t h;

    if (n > 1)
        qsort(m->res, (size_t)n, sizeof *m->res, cmp_i32);
    for (i = 0; i < n; i++)
        if (w == 0 || m->res[w - 1] != m->res[i])
            m->res[w++] = m->res[i];
    n = m->n_res = w;
    if ((uint32_t)m->n_st * 2 >= m->st_tab_cap &&
        rehash_states(m, m->st_tab_cap ? m->st_tab_cap * 2 : 1024) != 0)
        return m->oom = 1, STATE_DEAD;
    h = hash_set(m->res, n) & (m->st_tab_cap - 1);
    while (m->st_tab[h]) {
        id = m->st_tab[h] - 1;
        if (m->st_len[id] == n && !memcmp(m->st_pool + m->st_off[id], m->res, (size_t)n * 4))
            return id;
        h = (h + 1) & (m->st_tab_cap - 1);
    }
    if (m->n_st == m->cap_st) {
        int32_t cap = m->cap_st ? m->cap_st * 2 : 256;
        int32_t *a = realloc(m->st_off, (size_t)cap * sizeof *a);
        if (a)
            m->st_off = a;
        a = a ? realloc(m->st_len, (size_t)cap * sizeof *a) : NULL;
        if (a)
            m->st_len = a;
        a = a ? realloc(m->st_mask, (size_t)cap * sizeof *a) : NULL;
        if (a)
            m->st_mask = a;
        {
            uint8_t *acc = a ? realloc(m->st_accept, (size_t)cap) : NULL;
            int32_t **rows = NULL;
            int32_t *lp = NULL;
            if (acc)
                m->st_accept = acc;
            lp = acc ? realloc(m->st_text, (size_t)cap * sizeof *m->st_text) : NULL;
            if (lp)
                m->st_text = lp;
            rows = lp ? realloc(m->rows, (size_t)cap * sizeof *rows) : NULL;
            if (!rows)
                return m->oom = 1, STATE_DEAD;
            m->rows = rows;
        }
        m->cap_st = cap;
    }
    if (m->pool_len + (size_t)n > m->pool_cap) {
        size_t cap = m->pool_cap ? m->pool_cap : 1024;
        int32_t *np;
        while (cap < m->pool_len + (size_t)n)
            cap *= 2;
        np = realloc(m->st_pool, cap * sizeof *np);
        if (!np)
            return m->oom = 1, STATE_DEAD;
        m->st_pool = np;
        m->pool_cap = cap;
    }
    id = m->n_st++;
    m->st_off[id] = (int32_t)m->pool_len;
    m->st_len[id] = n;
    if (n > 0)
        memcpy(m->st_pool + m->pool_len, m->res, (size_t)n * sizeof *m->res);
    m->pool_len += (size_t)n;
    m->st_accept[id] = n > 0 && m->res[0] == 0; /* the empty stack sorts first */
    m->rows[id] = NULL;
    m->st_mask[id] = -1;
    m->st_text[id] = -1;
    m->st_tab[h] = id + 1;
    return id;
}

static void begin_transition(fw_matcher *m)
{
    m->n_res = 0;
    m->gen++;
    if (m->gen == 0) { /* wrapped: clear the stamps */
        if (m->vis_gen)
            memset(m->vis_gen, 0, m->vis_cap * sizeof *m->vis_gen);
        m->gen = 1;
    }
    m->vis_count = 0;
    m->budget = EXPAND_BUDGET;
    m->recursion = 0;
    m->overflow = 0;
}

static int32_t advance(fw_matcher *m, int32_t s, unsigned byte)
{
    const gb_ir *ir = &m->g->ir;
    int32_t i, off = m->st_off[s], n = m->st_len[s];

    begin_transition(m);
    for (i = 0; i < n; i++) {
        int32_t k = m->st_pool[off + i];
        int32_t pos;
        if (k == 0)
            continue;
        pos = m->stk[k].pos;
        if (gb_set_has(&ir->sets[ir->elems[pos].val], byte))
            expand(m, pos + 1, m->stk[k].parent);
        /* expand may move st_pool: re-read offsets */
        off = m->st_off[s];
    }
    if (m->oom || m->overflow || m->n_res == 0)
        return STATE_DEAD;
    return intern_state(m);
}

static int32_t *get_row(fw_matcher *m, int32_t s)
{
    int32_t *row, i;
    if (m->rows[s])
        return m->rows[s];
    if (m->n_rows >= ROW_CAP)
        return NULL;
    row = malloc(256 * sizeof *row);
    if (!row)
        return NULL;
    for (i = 0; i < 256; i++)
        row[i] = STATE_UNKNOWN;
    m->rows[s] = row;
    m->n_rows++;
    return row;
}

/* Computes s --byte--> and memoises it in row for every byte of its class. */
static int32_t learn(fw_matcher *m, int32_t s, int32_t *row, unsigned byte)
{
    const uint8_t *cls = m->g->byte_class;
    int32_t ns = advance(m, s, byte);
    unsigned b;
    if (m->oom)
        return STATE_DEAD; /* do not memoise a failure */
    for (b = 0; b < 256; b++)
        if (cls[b] == cls[byte])
            row[b] = ns;
    return ns;
}

static int32_t step(fw_matcher *m, int32_t s, unsigned byte)
{
    int32_t *row = get_row(m, s);
    if (!row)
        return advance(m, s, byte);
    if (row[byte] == STATE_UNKNOWN)
        return learn(m, s, row, byte);
    return row[byte];
}

static int32_t initial_state(fw_matcher *m)
{
    const gb_ir *ir = &m->g->ir;
    const gb_rule *r = &ir->rules[ir->root];
    int32_t a;

    begin_transition(m);
    for (a = 0; a < r->n_alts; a++)
        expand(m, ir->alt_start[r->first_alt + a], 0);
    if (m->oom)
        return STATE_DEAD;
    if (m->overflow)
        m->n_res = 0;
    return intern_state(m);
}

/* ---- flushing the memo tables when they grow too big ---- */

static void clear_tables(fw_matcher *m)
{
    int32_t i;
    for (i = 0; i < m->n_st; i++)
        free(m->rows[i]);
    m->n_rows = 0;
    m->n_st = 0;
    m->pool_len = 0;
    if (m->st_tab)
        memset(m->st_tab, 0, m->st_tab_cap * sizeof *m->st_tab);
    m->n_stk = 1;
    if (m->stk_tab)
        memset(m->stk_tab, 0, m->stk_tab_cap * sizeof *m->stk_tab);
    for (i = 0; i < MASK_SLOTS; i++)
        m->slot_state[i] = -1;
}

/* Keeps only the current state: copies its stacks out, clears, re-interns. */
static fw_status maybe_flush(fw_matcher *m, fw_err *err)
{
    int32_t *copy = NULL, n_copy = 0, cap_copy = 0, i, k;
    int32_t off, n;

    if (m->n_rows < ROW_CAP && m->n_stk < STACK_CAP && m->n_st < STATE_CAP)
        return FW_OK;
    off = m->st_off[m->cur];
    n = m->st_len[m->cur];
    /* each stack as: depth, positions bottom..top */
    for (i = 0; i < n; i++) {
        int32_t id = m->st_pool[off + i], d = m->stk[id].depth, j;
        if (grow((void **)&copy, &cap_copy, n_copy + d + 1, sizeof *copy) != 0) {
            free(copy);
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        }
        copy[n_copy] = d;
        for (j = d, k = id; j >= 1; j--, k = m->stk[k].parent)
            copy[n_copy + j] = m->stk[k].pos;
        n_copy += d + 1;
    }
    clear_tables(m);
    m->n_res = 0;
    for (i = 0; i < n_copy;) {
        int32_t d = copy[i], j, id = 0;
        for (j = 1; j <= d; j++)
            id = intern_stack(m, copy[i + j], id);
        add_result(m, id);
        i += d + 1;
    }
    free(copy);
    m->cur = m->oom ? STATE_DEAD : intern_state(m);
    if (m->oom || m->cur < 0)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    return FW_OK;
}

/* ---- public ---- */

fw_status gb_matcher_new(const fw_grammar *g, fw_matcher **out, fw_err *err)
{
    fw_matcher *m;
    int32_t i;

    *out = NULL;
    if (!g)
        return fw_err_set(err, FW_ERR_INVALID, "matcher_new: no grammar");
    m = calloc(1, sizeof *m);
    if (!m)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    m->g = g;
    m->n_words = (g->n_tokens + 31) / 32;
    if (grow((void **)&m->stk, &m->cap_stk, 1024, sizeof *m->stk) != 0)
        goto nomem;
    m->stk[0].pos = -1;
    m->stk[0].parent = -1;
    m->stk[0].depth = 0;
    m->n_stk = 1;
    for (i = 0; i < MASK_SLOTS; i++)
        m->slot_state[i] = -1;
    if (g->trie) {
        size_t d = (size_t)g->trie->max_depth + 1;
        m->masks = malloc((size_t)MASK_SLOTS * (size_t)(m->n_words ? m->n_words : 1) * 4);
        m->walk_st = malloc(d * sizeof *m->walk_st);
        m->walk_row = malloc(d * sizeof *m->walk_row);
        if (!m->masks || !m->walk_st || !m->walk_row)
            goto nomem;
    }
    m->cur = initial_state(m);
    if (m->oom || m->cur < 0)
        goto nomem;
    *out = m;
    return FW_OK;
nomem:
    gb_matcher_free(m);
    return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
}

void gb_matcher_free(fw_matcher *m)
{
    int32_t i;
    if (!m)
        return;
    for (i = 0; i < m->n_st; i++)
        free(m->rows[i]);
    free(m->stk);
    free(m->stk_tab);
    free(m->st_off);
    free(m->st_len);
    free(m->st_accept);
    free(m->st_text);
    free(m->rows);
    free(m->st_mask);
    free(m->st_pool);
    free(m->st_tab);
    free(m->res);
    free(m->vis_key);
    free(m->vis_gen);
    free(m->masks);
    free(m->walk_st);
    free(m->walk_row);
    free(m);
}

static void set_eos_bits(const fw_matcher *m, uint32_t *mask, int on)
{
    int32_t i;
    for (i = 0; i < m->g->n_eos; i++) {
        int32_t t = m->g->eos_ids[i];
        if (t >= 0 && t < m->g->n_tokens) {
            if (on)
                mask[t >> 5] |= 1u << (t & 31);
            else
                mask[t >> 5] &= ~(1u << (t & 31));
        }
    }
}

/* Do all continuation sequences (need bytes, the first in range r) from t
 * end back in home?  memo holds the (t, need) pairs already checked. */
static int cont_loops(fw_matcher *m, int32_t home, int32_t t, int need, int r, int32_t *memo,
                      int *n_memo)
{
    static const unsigned char lo[5] = {0x80, 0xA0, 0x80, 0x90, 0x80};
    static const unsigned char hi[5] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    unsigned b;
    int i;

    for (i = 0; i < *n_memo; i++)
        if (memo[2 * i] == t && memo[2 * i + 1] == (need | r << 2))
            return 1;
    for (b = lo[r]; b <= hi[r]; b++) {
        int32_t u = step(m, t, b);
        if (u < 0)
            return 0;
        if (need == 1 ? u != home : !cont_loops(m, home, u, need - 1, 0, memo, n_memo))
            return 0;
    }
    if (*n_memo < 64) {
        memo[2 * *n_memo] = t;
        memo[2 * *n_memo + 1] = need | r << 2;
        (*n_memo)++;
    }
    return 1;
}

/* The state every text character (plain byte or whole UTF-8 char) leads to
 * from s, or -1 when they do not all lead to one live state. */
static int32_t text_next(fw_matcher *m, int32_t s)
{
    int32_t memo[128], next = step(m, s, 0x20);
    int n_memo = 0;
    unsigned b;

    if (next < 0)
        return -1;
    for (b = 0x21; b < 0x100; b++) {
        int d = gb_utf8_step(0, b);
        int32_t u;
        if (d < 0)
            continue;
        u = step(m, s, b);
        if (d == 0 ? u != next : (u < 0 || !cont_loops(m, next, u, d & 3, d >> 2, memo, &n_memo)))
            return -1;
    }
    return m->oom ? -1 : next;
}

#define TEXT_FREE 0x7FFFFFFF

/* How many text characters s accepts whatever they are: TEXT_FREE for a
 * free-text loop (JSON string content), k for a counted run such as
 * json-char{0,k}, 0 otherwise.  Memoised per state. */
static int32_t text_budget(fw_matcher *m, int32_t s)
{
    int32_t chain[1100], n = 0, v;

    while (m->st_text[s] < 0) {
        int32_t t = text_next(m, s);
        if (t == s) {
            m->st_text[s] = TEXT_FREE;
        } else if (t < 0 || n == (int32_t)(sizeof chain / sizeof chain[0])) {
            m->st_text[s] = 0;
        } else {
            chain[n++] = s;
            s = t;
            continue;
        }
        break;
    }
    v = m->st_text[s];
    while (n > 0) { /* each link accepts one more character than its successor */
        s = chain[--n];
        if (v != TEXT_FREE)
            v++;
        m->st_text[s] = v;
    }
    return v;
}

/* One preorder pass over the trie: node i's prefix state is the state of
 * its parent (depth - 1) stepped by its byte. */
static void walk_trie(fw_matcher *m, uint32_t *mask)
{
    const gb_trie *t = m->g->trie;
    const gb_trie_node *nd = t->nodes;
    const int32_t *tok = t->tok;
    int32_t *wst = m->walk_st;
    int32_t **wrow = m->walk_row;
    int32_t i = 1, n = t->n_nodes;

    wst[0] = m->cur;
    wrow[0] = get_row(m, m->cur);
    while (i < n) {
        const gb_trie_node *x = &nd[i];
        int32_t d = x->depth - 1, ns, k;
        int32_t *row = wrow[d];

        if (row) {
            ns = row[x->byte];
            if (ns == STATE_UNKNOWN)
                ns = learn(m, wst[d], row, x->byte);
        } else {
            ns = advance(m, wst[d], x->byte);
        }
        if (ns < 0) {
            i = x->skip;
            continue;
        }
        if (x->text && nd[i + 1].depth > x->depth &&
            (x->text < 255 ? text_budget(m, ns) >= x->text - 1
                           : text_budget(m, ns) == TEXT_FREE)) {
            /* the whole subtree stays in ns: its tokens are contiguous */
            int32_t end = nd[x->skip].tok_first;
            for (k = x->tok_first; k < end; k++)
                mask[tok[k] >> 5] |= 1u << (tok[k] & 31);
            i = x->skip;
            continue;
        }
        for (k = x->tok_first; k < nd[i + 1].tok_first; k++)
            mask[tok[k] >> 5] |= 1u << (tok[k] & 31);
        if (nd[i + 1].depth > x->depth) { /* has children */
            wst[d + 1] = ns;
            wrow[d + 1] = get_row(m, ns);
        }
        i++;
    }
}

fw_status gb_fill_mask(fw_matcher *m, uint32_t *mask, fw_err *err)
{
    fw_status st;
    int32_t slot;

    if (!m || !mask)
        return fw_err_set(err, FW_ERR_INVALID, "fill_mask: NULL argument");
    if (!m->g->trie)
        return fw_err_set(err, FW_ERR_INVALID, "fill_mask: grammar compiled without a vocabulary");
    memset(mask, 0, (size_t)m->n_words * 4);
    if (m->finished || m->cur < 0) {
        if (m->finished)
            set_eos_bits(m, mask, 1);
        return FW_OK;
    }
    st = maybe_flush(m, err);
    if (st != FW_OK)
        return st;
    slot = m->st_mask[m->cur];
    if (slot >= 0 && m->slot_state[slot] == m->cur) {
        memcpy(mask, m->masks + (size_t)slot * (size_t)m->n_words, (size_t)m->n_words * 4);
        return FW_OK;
    }
    m->oom = 0;
    walk_trie(m, mask);
    if (m->oom) {
        m->oom = 0;
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory computing the grammar mask");
    }
    set_eos_bits(m, mask, m->st_accept[m->cur]);
    slot = m->next_slot;
    m->next_slot = (m->next_slot + 1) % MASK_SLOTS;
    if (m->slot_state[slot] >= 0 && m->slot_state[slot] < m->n_st)
        m->st_mask[m->slot_state[slot]] = -1;
    m->slot_state[slot] = m->cur;
    m->st_mask[m->cur] = slot;
    memcpy(m->masks + (size_t)slot * (size_t)m->n_words, mask, (size_t)m->n_words * 4);
    return FW_OK;
}

static fw_status feed(fw_matcher *m, const unsigned char *b, size_t n, fw_err *err)
{
    int32_t s = m->cur;
    size_t i;
    fw_status st = maybe_flush(m, err);

    if (st != FW_OK)
        return st;
    s = m->cur;
    for (i = 0; i < n && s >= 0; i++) {
        m->oom = 0;
        s = step(m, s, b[i]);
        if (m->oom) {
            m->oom = 0;
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        }
    }
    if (s < 0)
        return fw_err_set(err, FW_ERR_INVALID, "rejected by the grammar at byte %zu", i - 1);
    m->cur = s;
    return FW_OK;
}

fw_status gb_accept_token(fw_matcher *m, int32_t token, fw_err *err)
{
    const fw_vocab *v;
    int32_t i;

    if (!m)
        return fw_err_set(err, FW_ERR_INVALID, "accept_token: NULL matcher");
    v = m->g->vocab;
    if (!v || token < 0 || token >= m->g->n_tokens)
        return fw_err_set(err, FW_ERR_INVALID, "token %d is outside the vocabulary", (int)token);
    for (i = 0; i < m->g->n_eos; i++) {
        if (m->g->eos_ids[i] == token) {
            if (!m->finished && !(m->cur >= 0 && m->st_accept[m->cur]))
                return fw_err_set(err, FW_ERR_INVALID, "eos token %d before the grammar is complete",
                              (int)token);
            m->finished = 1;
            return FW_OK;
        }
    }
    if (m->finished)
        return fw_err_set(err, FW_ERR_INVALID, "token %d after end of sequence", (int)token);
    if (!v->bytes[token] || v->len[token] <= 0)
        return fw_err_set(err, FW_ERR_INVALID, "special token %d is not allowed by the grammar",
                      (int)token);
    if (feed(m, (const unsigned char *)v->bytes[token], (size_t)v->len[token], err) != FW_OK)
        return fw_err_set(err, FW_ERR_INVALID, "token %d is not allowed by the grammar here",
                      (int)token);
    return FW_OK;
}

fw_status gb_accept_bytes(fw_matcher *m, const char *bytes, size_t n, fw_err *err)
{
    if (!m || (!bytes && n))
        return fw_err_set(err, FW_ERR_INVALID, "accept_bytes: NULL argument");
    if (m->finished && n)
        return fw_err_set(err, FW_ERR_INVALID, "bytes after end of sequence");
    return feed(m, (const unsigned char *)bytes, n, err);
}

int gb_matcher_would_accept(fw_matcher *m, const char *bytes, size_t n)
{
    int32_t s = m->finished ? STATE_DEAD : m->cur;
    size_t i;
    for (i = 0; i < n && s >= 0; i++)
        s = step(m, s, (unsigned char)bytes[i]);
    return s >= 0;
}

int32_t gb_is_accepting(const fw_matcher *m)
{
    if (!m)
        return 0;
    return m->finished || (m->cur >= 0 && m->st_accept[m->cur]);
}

/* ---- compile ---- */

/* Partitions the bytes by their membership in every terminal set, so a
 * transition computed for one byte holds for its whole class. */
static fw_status byte_classes(fw_grammar *g, fw_err *err)
{
    int32_t words = (g->ir.n_sets + 63) / 64, i, n_classes = 0;
    uint64_t *sig = calloc((size_t)256 * (size_t)(words ? words : 1), sizeof *sig);
    unsigned b, c;

    if (!sig)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    for (i = 0; i < g->ir.n_sets; i++)
        for (b = 0; b < 256; b++)
            if (gb_set_has(&g->ir.sets[i], b))
                sig[(size_t)b * (size_t)words + (size_t)(i / 64)] |= 1ull << (i % 64);
    for (b = 0; b < 256; b++) {
        for (c = 0; c < b; c++)
            if (!memcmp(&sig[(size_t)b * (size_t)words], &sig[(size_t)c * (size_t)words],
                        (size_t)words * sizeof *sig))
                break;
        g->byte_class[b] = c < b ? g->byte_class[c] : (uint8_t)n_classes++;
    }
    free(sig);
    return FW_OK;
}

fw_status gb_grammar_compile(uint32_t source, const char *text, const fw_vocab *vocab,
                             fw_grammar **out, fw_err *err)
{
    fw_grammar *g;
    char *gen = NULL;
    fw_status st;

    if (!out)
        return fw_err_set(err, FW_ERR_INVALID, "compile: NULL out");
    *out = NULL;
    if (source != FW_GRAMMAR_JSON_OBJECT && !text)
        return fw_err_set(err, FW_ERR_INVALID, "compile: no grammar text");
    if (vocab && vocab->struct_size < offsetof(fw_vocab, eos_ids) + sizeof vocab->eos_ids)
        return fw_err_set(err, FW_ERR_INVALID, "compile: fw_vocab struct_size too small");
    g = calloc(1, sizeof *g);
    if (!g)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    switch (source) {
    case FW_GRAMMAR_GBNF:
        st = gb_parse(text, strlen(text), &g->ir, err);
        break;
    case FW_GRAMMAR_JSON_SCHEMA:
    case FW_GRAMMAR_JSON_OBJECT:
        st = gb_json_schema_to_gbnf(text, source == FW_GRAMMAR_JSON_OBJECT, &gen, err);
        if (st == FW_OK) {
            st = gb_parse(gen, strlen(gen), &g->ir, err);
            if (st != FW_OK) /* a bug in the generator, not in the schema */
                st = FW_ERR_INTERNAL;
        }
        free(gen);
        break;
    default:
        st = fw_err_set(err, FW_ERR_INVALID, "compile: unknown grammar source %u", (unsigned)source);
    }
    if (st == FW_OK)
        st = byte_classes(g, err);
    if (st == FW_OK && vocab) {
        st = gb_trie_build(vocab, &g->trie, err);
        if (st == FW_OK && vocab->n_eos > 0) {
            g->eos_ids = malloc((size_t)vocab->n_eos * sizeof *g->eos_ids);
            if (!g->eos_ids)
                st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
            else
                memcpy(g->eos_ids, vocab->eos_ids, (size_t)vocab->n_eos * sizeof *g->eos_ids);
            g->n_eos = vocab->n_eos;
        }
        g->n_tokens = vocab->n_tokens;
        g->vocab = vocab;
    }
    if (st != FW_OK) {
        gb_grammar_free(g);
        return st;
    }
    *out = g;
    return FW_OK;
}

void gb_grammar_free(fw_grammar *g)
{
    if (!g)
        return;
    gb_ir_free(&g->ir);
    gb_trie_free(g->trie);
    free(g->eos_ids);
    free(g);
}
