/* plugins/grammar/gbnf/gbnf_parse.c -- GBNF text -> byte-level gb_ir.
 *
 * The llama.cpp dialect: `name ::= alternatives`, `|`, `( )`, `* + ?`,
 * `{m}` `{m,}` `{m,n}`, "literals", [classes] with ranges and `^`, `.`,
 * `#` comments.  A rule body may continue over several lines; it ends where
 * the next `name ::=` starts.  Groups and repetitions become generated rules
 * (X* -> R ::= X R | "", right-recursive so stacks do not grow).  Character
 * classes are sets of code points; they are compiled to alternatives of
 * UTF-8 byte-set sequences so that the matcher works on bytes only.
 */
#include "gbnf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPEAT 10000  /* largest m or n in {m,n} */
#define MAX_NESTING 200   /* ( ( ( ... depth */
#define MAX_CP 0x10FFFFu

typedef struct rb_rule {
    char *name;
    gb_elem *e; /* alternatives, each ended by GB_END */
    int32_t n, cap;
    int defined;
    int generated;
    size_t ref_pos; /* first reference, for "undefined rule" */
} rb_rule;

typedef struct parser {
    const char *s;
    size_t len, pos;
    rb_rule *rules;
    int32_t n_rules, cap_rules;
    gb_set *sets;
    int32_t n_sets, cap_sets;
    int32_t *names;   /* open addressing over named rules: rule index + 1 */
    uint32_t names_cap;
    int32_t n_named;
    int32_t any_rule; /* memoised rule for '.', -1 until used */
    int depth;
    fw_err *err;
    fw_status st; /* first error, sticky */
} parser;

typedef struct cp_range {
    uint32_t lo, hi;
} cp_range;

/* ---- errors with positions ---- */

static void where(const parser *p, size_t pos, int *line, int *col)
{
    size_t i;
    *line = 1;
    *col = 1;
    for (i = 0; i < pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static fw_status fail_at(parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static fw_status fail_at(parser *p, size_t pos, const char *fmt, ...)
{
    char msg[200];
    int line, col;
    va_list ap;

    if (p->st != FW_OK)
        return p->st;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    where(p, pos, &line, &col);
    p->st = fw_err_set(p->err, FW_ERR_INVALID, "line %d col %d: %s", line, col, msg);
    return p->st;
}

static fw_status nomem(parser *p)
{
    if (p->st == FW_OK)
        p->st = fw_err_set(p->err, FW_ERR_NOMEM, "out of memory");
    return p->st;
}

/* ---- builders ---- */

static uint32_t hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int index_name(parser *p, int32_t rule)
{
    const char *name = p->rules[rule].name;
    uint32_t h;
    if ((uint32_t)(p->n_named + 1) * 2 > p->names_cap) {
        uint32_t cap = p->names_cap ? p->names_cap * 2 : 256, i;
        int32_t *tab = calloc(cap, sizeof *tab);
        if (!tab)
            return -1;
        for (i = 0; i < p->names_cap; i++) {
            if (p->names[i]) {
                const char *nm = p->rules[p->names[i] - 1].name;
                uint32_t j = hash_name(nm, strlen(nm)) & (cap - 1);
                while (tab[j])
                    j = (j + 1) & (cap - 1);
                tab[j] = p->names[i];
            }
        }
        free(p->names);
        p->names = tab;
        p->names_cap = cap;
    }
    h = hash_name(name, strlen(name)) & (p->names_cap - 1);
    while (p->names[h])
        h = (h + 1) & (p->names_cap - 1);
    p->names[h] = rule + 1;
    p->n_named++;
    return 0;
}

static int32_t add_rule(parser *p, const char *name, size_t name_len, int generated)
{
    rb_rule *r;
    if (p->n_rules == p->cap_rules) {
        int32_t cap = p->cap_rules ? p->cap_rules * 2 : 64;
        rb_rule *nr = realloc(p->rules, (size_t)cap * sizeof *nr);
        if (!nr)
            return nomem(p), -1;
        p->rules = nr;
        p->cap_rules = cap;
    }
    r = &p->rules[p->n_rules];
    memset(r, 0, sizeof *r);
    r->name = malloc(name_len + 1);
    if (!r->name)
        return nomem(p), -1;
    memcpy(r->name, name, name_len);
    r->name[name_len] = '\0';
    r->generated = generated;
    p->n_rules++;
    if (!generated && index_name(p, p->n_rules - 1) != 0)
        return nomem(p), -1;
    return p->n_rules - 1;
}

static int32_t gen_rule(parser *p, int32_t parent)
{
    char name[160];
    snprintf(name, sizeof name, "%.120s-%d", parent >= 0 ? p->rules[parent].name : "gen",
             (int)p->n_rules);
    return add_rule(p, name, strlen(name), 1);
}

static int32_t find_rule(parser *p, const char *name, size_t n)
{
    uint32_t h;
    if (!p->names_cap)
        return -1;
    h = hash_name(name, n) & (p->names_cap - 1);
    while (p->names[h]) {
        int32_t i = p->names[h] - 1;
        if (strlen(p->rules[i].name) == n && !memcmp(p->rules[i].name, name, n))
            return i;
        h = (h + 1) & (p->names_cap - 1);
    }
    return -1;
}

static void push(parser *p, int32_t rule, int32_t kind, int32_t val)
{
    rb_rule *r = &p->rules[rule];
    if (p->st != FW_OK)
        return;
    if (r->n == r->cap) {
        int32_t cap = r->cap ? r->cap * 2 : 16;
        gb_elem *ne = realloc(r->e, (size_t)cap * sizeof *ne);
        if (!ne) {
            nomem(p);
            return;
        }
        r->e = ne;
        r->cap = cap;
    }
    r->e[r->n].kind = kind;
    r->e[r->n].val = val;
    r->n++;
}

static int32_t intern_set(parser *p, const gb_set *s)
{
    int32_t i;
    for (i = 0; i < p->n_sets; i++)
        if (!memcmp(&p->sets[i], s, sizeof *s))
            return i;
    if (p->n_sets == p->cap_sets) {
        int32_t cap = p->cap_sets ? p->cap_sets * 2 : 64;
        gb_set *ns = realloc(p->sets, (size_t)cap * sizeof *ns);
        if (!ns)
            return nomem(p), 0;
        p->sets = ns;
        p->cap_sets = cap;
    }
    p->sets[p->n_sets] = *s;
    return p->n_sets++;
}

static void set_range(gb_set *s, unsigned lo, unsigned hi)
{
    unsigned b;
    for (b = lo; b <= hi; b++)
        s->w[b >> 5] |= 1u << (b & 31);
}

static void push_byte(parser *p, int32_t rule, unsigned char c)
{
    gb_set s;
    memset(&s, 0, sizeof s);
    set_range(&s, c, c);
    push(p, rule, GB_TERM, intern_set(p, &s));
}

static int utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- character classes -> byte-set sequences ---- */

typedef struct class_build {
    parser *p;
    int32_t rule; /* generated rule collecting multi-byte alternatives */
    gb_set ascii; /* single-byte part, emitted as one alternative */
} class_build;

/* [lo, hi] have the same UTF-8 length n: split until every continuation
 * position spans a full or aligned range, then emit per-byte ranges. */
static void split_same_len(class_build *cb, uint32_t lo, uint32_t hi, int n)
{
    unsigned char a[4], b[4];
    int i;

    for (i = 1; i < n; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                split_same_len(cb, lo, lo | m, n);
                split_same_len(cb, (lo | m) + 1, hi, n);
                return;
            }
            if ((hi & m) != m) {
                split_same_len(cb, lo, (hi & ~m) - 1, n);
                split_same_len(cb, hi & ~m, hi, n);
                return;
            }
        }
    }
    utf8_encode(lo, a);
    utf8_encode(hi, b);
    if (n == 1) {
        set_range(&cb->ascii, a[0], b[0]);
        return;
    }
    for (i = 0; i < n; i++) {
        gb_set s;
        memset(&s, 0, sizeof s);
        set_range(&s, a[i], b[i]);
        push(cb->p, cb->rule, GB_TERM, intern_set(cb->p, &s));
    }
    push(cb->p, cb->rule, GB_END, 0);
}

static void split_range(class_build *cb, uint32_t lo, uint32_t hi)
{
    static const uint32_t top[4] = {0x7F, 0x7FF, 0xFFFF, MAX_CP};
    uint32_t start = 0;
    int n;

    for (n = 1; n <= 4; n++) {
        uint32_t a = lo > start ? lo : start, b = hi < top[n - 1] ? hi : top[n - 1];
        if (a <= b) {
            if (n == 3 && a <= 0xDFFF && b >= 0xD800) { /* surrogates are not chars */
                if (a < 0xD800)
                    split_same_len(cb, a, 0xD7FF, 3);
                if (b > 0xDFFF)
                    split_same_len(cb, 0xE000, b, 3);
            } else {
                split_same_len(cb, a, b, n);
            }
        }
        start = top[n - 1] + 1;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const cp_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Appends to `rule` one element matching exactly one code point in ranges
 * (complemented when negated): a TERM when it is ASCII only, else a REF to a
 * generated rule. */
static void emit_class(parser *p, int32_t rule, cp_range *r, int32_t n, int negated, size_t at)
{
    cp_range norm[512 + 1];
    int32_t nn = 0, i, has_multi = 0;
    class_build cb;

    qsort(r, (size_t)n, sizeof *r, cmp_range);
    for (i = 0; i < n; i++) {
        if (nn > 0 && r[i].lo <= norm[nn - 1].hi + 1) {
            if (r[i].hi > norm[nn - 1].hi)
                norm[nn - 1].hi = r[i].hi;
        } else {
            norm[nn++] = r[i];
        }
    }
    if (negated) {
        cp_range comp[512 + 1];
        int32_t nc = 0;
        uint32_t next = 0;
        for (i = 0; i < nn; i++) {
            if (norm[i].lo > next)
                comp[nc++] = (cp_range){next, norm[i].lo - 1};
            next = norm[i].hi + 1;
        }
        if (next <= MAX_CP)
            comp[nc++] = (cp_range){next, MAX_CP};
        memcpy(norm, comp, (size_t)nc * sizeof *comp);
        nn = nc;
    }
    if (nn == 0) {
        fail_at(p, at, "character class matches nothing");
        return;
    }
    for (i = 0; i < nn; i++)
        if (norm[i].hi > 0x7F)
            has_multi = 1;
    memset(&cb, 0, sizeof cb);
    cb.p = p;
    cb.rule = -1;
    if (has_multi) {
        cb.rule = gen_rule(p, rule);
        if (cb.rule < 0)
            return;
    }
    for (i = 0; i < nn && p->st == FW_OK; i++)
        split_range(&cb, norm[i].lo, norm[i].hi);
    if (p->st != FW_OK)
        return;
    if (!has_multi) {
        push(p, rule, GB_TERM, intern_set(p, &cb.ascii));
        return;
    }
    {
        static const gb_set empty;
        if (memcmp(&cb.ascii, &empty, sizeof empty)) {
            push(p, cb.rule, GB_TERM, intern_set(p, &cb.ascii));
            push(p, cb.rule, GB_END, 0);
        }
    }
    p->rules[cb.rule].defined = 1;
    push(p, rule, GB_REF, cb.rule);
}

/* ---- lexing ---- */

static int at_end(const parser *p) { return p->pos >= p->len; }
static int peek(const parser *p) { return at_end(p) ? -1 : (unsigned char)p->s[p->pos]; }

static int is_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Skips blanks and comments; newlines too when nl is set. */
static void skip_space(parser *p, int nl)
{
    while (!at_end(p)) {
        int c = peek(p);
        if (c == ' ' || c == '\t' || (nl && (c == '\n' || c == '\r'))) {
            p->pos++;
        } else if (c == '#') {
            while (!at_end(p) && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            break;
        }
    }
}

/* Decodes one UTF-8 code point from the source; -1 when invalid. */
static int64_t decode_utf8(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s + p->pos;
    size_t left = p->len - p->pos;
    uint32_t cp;
    int n, i;

    if (s[0] < 0x80) {
        p->pos++;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return -1;
    }
    if (left < (size_t)n)
        return -1;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > MAX_CP || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    p->pos += (size_t)n;
    return cp;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class: an escape or a UTF-8 code point. */
static int64_t parse_char(parser *p)
{
    size_t start = p->pos;
    int64_t cp;

    if (peek(p) == '\\') {
        int c, digits = 0, i;
        p->pos++;
        if (at_end(p))
            return fail_at(p, start, "unfinished escape"), -1;
        c = peek(p);
        p->pos++;
        switch (c) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '\\': return '\\';
        case '"': return '"';
        case '\'': return '\'';
        case '[': return '[';
        case ']': return ']';
        case '-': return '-';
        case '^': return '^';
        case '/': return '/';
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: return fail_at(p, start, "unknown escape '\\%c'", c), -1;
        }
        cp = 0;
        for (i = 0; i < digits; i++) {
            int h = hexval(peek(p));
            if (h < 0)
                return fail_at(p, start, "expected %d hex digits after '\\%c'", digits, c), -1;
            cp = cp * 16 + h;
            p->pos++;
        }
        if (cp > MAX_CP || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_at(p, start, "escape is not a valid code point"), -1;
        return cp;
    }
    cp = decode_utf8(p);
    if (cp < 0)
        return fail_at(p, start, "invalid UTF-8"), -1;
    return cp;
}

/* ---- grammar ---- */

static void parse_alternatives(parser *p, int32_t rule, int nested);

static void parse_literal(parser *p, int32_t rule)
{
    size_t start = p->pos;
    p->pos++; /* opening quote */
    for (;;) {
        unsigned char buf[4];
        int64_t cp;
        int n, i;
        if (at_end(p) || peek(p) == '\n') {
            fail_at(p, start, "unterminated string literal");
            return;
        }
        if (peek(p) == '"') {
            p->pos++;
            return;
        }
        cp = parse_char(p);
        if (cp < 0)
            return;
        n = utf8_encode((uint32_t)cp, buf);
        for (i = 0; i < n; i++)
            push_byte(p, rule, buf[i]);
    }
}

static void parse_class(parser *p, int32_t rule)
{
    cp_range r[512];
    int32_t n = 0;
    size_t start = p->pos;
    int negated = 0;

    p->pos++; /* '[' */
    if (peek(p) == '^') {
        negated = 1;
        p->pos++;
    }
    for (;;) {
        int64_t lo, hi;
        size_t at = p->pos;
        if (at_end(p) || peek(p) == '\n') {
            fail_at(p, start, "unterminated character class, expected ']'");
            return;
        }
        if (peek(p) == ']') {
            p->pos++;
            break;
        }
        lo = parse_char(p);
        if (lo < 0)
            return;
        hi = lo;
        if (peek(p) == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] != ']') {
            p->pos++;
            hi = parse_char(p);
            if (hi < 0)
                return;
            if (hi < lo) {
                fail_at(p, at, "invalid range in character class (end before start)");
                return;
            }
        }
        if (n == (int32_t)(sizeof r / sizeof r[0])) {
            fail_at(p, at, "character class too long");
            return;
        }
        r[n].lo = (uint32_t)lo;
        r[n].hi = (uint32_t)hi;
        n++;
    }
    if (n == 0 && !negated) {
        fail_at(p, start, "empty character class");
        return;
    }
    emit_class(p, rule, r, n, negated, start);
}

static void parse_any(parser *p, int32_t rule)
{
    /* '.' = any code point; one shared rule for every use */
    if (p->any_rule < 0) {
        cp_range all = {0, MAX_CP};
        int32_t holder = gen_rule(p, -1);
        if (holder < 0)
            return;
        p->rules[holder].defined = 1;
        emit_class(p, holder, &all, 1, 0, p->pos);
        push(p, holder, GB_END, 0);
        p->any_rule = holder;
    }
    push(p, rule, GB_REF, p->any_rule);
    p->pos++;
}

static int parse_uint(parser *p, long *out)
{
    long v = 0;
    int any = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        v = v * 10 + (peek(p) - '0');
        if (v > MAX_REPEAT)
            return -2;
        p->pos++;
        any = 1;
    }
    *out = v;
    return any ? 0 : -1;
}

/* Moves elements [start, n) of rule into a fresh rule and returns the one
 * element that stands for them. */
static gb_elem take_item(parser *p, int32_t rule, int32_t start)
{
    gb_elem x = p->rules[rule].e[start];
    int32_t cnt = p->rules[rule].n - start, w, i;

    if (cnt != 1) {
        w = gen_rule(p, rule);
        if (w < 0)
            return x;
        for (i = 0; i < cnt; i++)
            push(p, w, p->rules[rule].e[start + i].kind, p->rules[rule].e[start + i].val);
        push(p, w, GB_END, 0);
        p->rules[w].defined = 1;
        x.kind = GB_REF;
        x.val = w;
    }
    p->rules[rule].n = start;
    return x;
}

/* X* as R ::= X R | "" */
static int32_t star_rule(parser *p, int32_t rule, gb_elem x)
{
    int32_t r = gen_rule(p, rule);
    if (r < 0)
        return -1;
    push(p, r, x.kind, x.val);
    push(p, r, GB_REF, r);
    push(p, r, GB_END, 0);
    push(p, r, GB_END, 0);
    p->rules[r].defined = 1;
    return r;
}

static void apply_repeat(parser *p, int32_t rule, int32_t start, long min, long max)
{
    gb_elem x = take_item(p, rule, start);
    long i;

    if (p->st != FW_OK)
        return;
    for (i = 0; i < min; i++)
        push(p, rule, x.kind, x.val);
    if (max < 0) {
        int32_t r = star_rule(p, rule, x);
        if (r >= 0)
            push(p, rule, GB_REF, r);
    } else if (max > min) {
        /* nested optionals: O1 ::= X | "", Ok ::= X Ok-1 | "" */
        int32_t prev = -1;
        for (i = 0; i < max - min && p->st == FW_OK; i++) {
            int32_t o = gen_rule(p, rule);
            if (o < 0)
                return;
            push(p, o, x.kind, x.val);
            if (prev >= 0)
                push(p, o, GB_REF, prev);
            push(p, o, GB_END, 0);
            push(p, o, GB_END, 0);
            p->rules[o].defined = 1;
            prev = o;
        }
        push(p, rule, GB_REF, prev);
    }
}

/* Is the text at pos the start of a new rule ("name ::=")? */
static int rule_starts_here(const parser *p)
{
    size_t i = p->pos;
    if (i >= p->len || !is_name_char((unsigned char)p->s[i]))
        return 0;
    while (i < p->len && is_name_char((unsigned char)p->s[i]))
        i++;
    while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
        i++;
    return p->len - i >= 3 && !memcmp(p->s + i, "::=", 3);
}

static void parse_sequence(parser *p, int32_t rule, int nested)
{
    int32_t last = -1; /* start of the last item, for postfix operators */

    while (p->st == FW_OK) {
        int c;
        skip_space(p, 0);
        c = peek(p);
        if (c == '\n' || c == '\r') {
            /* a body may continue on the next line unless a rule starts there */
            size_t save = p->pos;
            skip_space(p, 1);
            if (at_end(p) || rule_starts_here(p)) {
                if (!nested)
                    p->pos = save;
                return; /* nested: the caller reports the missing ')' */
            }
            continue;
        }
        if (c < 0 || c == '|' || c == ')')
            return;
        if (is_name_char(c)) {
            size_t s0 = p->pos;
            int32_t r;
            while (is_name_char(peek(p)))
                p->pos++;
            r = find_rule(p, p->s + s0, p->pos - s0);
            if (r < 0) {
                r = add_rule(p, p->s + s0, p->pos - s0, 0);
                if (r < 0)
                    return;
                p->rules[r].ref_pos = s0;
            }
            last = p->rules[rule].n;
            push(p, rule, GB_REF, r);
        } else if (c == '"') {
            last = p->rules[rule].n;
            parse_literal(p, rule);
            if (p->rules[rule].n == last) /* "" matches the empty string */
                last = -1;
        } else if (c == '[') {
            last = p->rules[rule].n;
            parse_class(p, rule);
        } else if (c == '.') {
            last = p->rules[rule].n;
            parse_any(p, rule);
        } else if (c == '(') {
            size_t open = p->pos;
            int32_t g;
            if (++p->depth > MAX_NESTING) {
                fail_at(p, open, "groups nested too deeply");
                return;
            }
            p->pos++;
            g = gen_rule(p, rule);
            if (g < 0)
                return;
            parse_alternatives(p, g, 1);
            p->depth--;
            if (p->st != FW_OK)
                return;
            if (peek(p) != ')') {
                int line, col;
                where(p, open, &line, &col);
                fail_at(p, p->pos, "expected ')' to close the '(' at line %d col %d", line, col);
                return;
            }
            p->pos++;
            p->rules[g].defined = 1;
            last = p->rules[rule].n;
            push(p, rule, GB_REF, g);
        } else if (c == '*' || c == '+' || c == '?') {
            if (last < 0) {
                fail_at(p, p->pos, "'%c' without a preceding item", c);
                return;
            }
            p->pos++;
            apply_repeat(p, rule, last, c == '+' ? 1 : 0, c == '?' ? 1 : -1);
        } else if (c == '{') {
            size_t open = p->pos;
            long min, max;
            int rc;
            if (last < 0) {
                fail_at(p, open, "'{' without a preceding item");
                return;
            }
            p->pos++;
            skip_space(p, 0);
            rc = parse_uint(p, &min);
            if (rc != 0) {
                if (rc == -2)
                    fail_at(p, p->pos, "repetition count too large (max %d)", MAX_REPEAT);
                else
                    fail_at(p, p->pos, "expected a number after '{'");
                return;
            }
            skip_space(p, 0);
            max = min;
            if (peek(p) == ',') {
                p->pos++;
                skip_space(p, 0);
                max = -1;
                if (peek(p) != '}') {
                    rc = parse_uint(p, &max);
                    if (rc != 0) {
                        if (rc == -2)
                            fail_at(p, p->pos, "repetition count too large (max %d)", MAX_REPEAT);
                        else
                            fail_at(p, p->pos, "expected a number or '}'");
                        return;
                    }
                    if (max < min) {
                        fail_at(p, open, "repetition {%ld,%ld}: max is below min", min, max);
                        return;
                    }
                }
                skip_space(p, 0);
            }
            if (peek(p) != '}') {
                fail_at(p, p->pos, "expected '}'");
                return;
            }
            p->pos++;
            apply_repeat(p, rule, last, min, max);
        } else {
            if (c >= 0x20 && c < 0x7F)
                fail_at(p, p->pos, "unexpected character '%c'", c);
            else
                fail_at(p, p->pos, "unexpected byte 0x%02x", (unsigned)c);
            return;
        }
    }
}

static void parse_alternatives(parser *p, int32_t rule, int nested)
{
    for (;;) {
        parse_sequence(p, rule, nested);
        if (p->st != FW_OK)
            return;
        push(p, rule, GB_END, 0);
        skip_space(p, nested);
        if (peek(p) != '|')
            return;
        p->pos++;
        skip_space(p, 1);
    }
}

static void parse_grammar(parser *p)
{
    skip_space(p, 1);
    while (!at_end(p) && p->st == FW_OK) {
        size_t s0 = p->pos;
        int32_t r;
        if (!is_name_char(peek(p))) {
            fail_at(p, p->pos, "expected a rule name");
            return;
        }
        while (is_name_char(peek(p)))
            p->pos++;
        r = find_rule(p, p->s + s0, p->pos - s0);
        if (r >= 0 && p->rules[r].defined) {
            fail_at(p, s0, "rule '%s' defined twice", p->rules[r].name);
            return;
        }
        if (r < 0)
            r = add_rule(p, p->s + s0, p->pos - s0, 0);
        if (r < 0)
            return;
        skip_space(p, 0);
        if (p->len - p->pos < 3 || memcmp(p->s + p->pos, "::=", 3)) {
            fail_at(p, p->pos, "expected '::=' after rule name '%s'", p->rules[r].name);
            return;
        }
        p->pos += 3;
        skip_space(p, 1);
        parse_alternatives(p, r, 0);
        if (p->st != FW_OK)
            return;
        if (peek(p) == ')') {
            fail_at(p, p->pos, "unexpected ')'");
            return;
        }
        p->rules[r].defined = 1;
        skip_space(p, 1);
    }
}

/* ---- checks on the finished IR ---- */

/* A rule that can reach itself through leftmost references, where some
 * step on the way pushes a continuation, would make the matcher's stacks
 * grow without consuming input: report it.  Cycles made only of tail
 * references (like (x?)*) are harmless and allowed.  Left-corner edges
 * A -> B go into a CSR graph; a growing edge inside one strongly connected
 * component (Tarjan, iterative) is left recursion. */
typedef struct lr_graph {
    int32_t *first;   /* (n_rules + 1) CSR offsets */
    int32_t *to;      /* (n_edges) */
    char *grows;      /* (n_edges) */
    int32_t n_edges;
} lr_graph;

/* Counts the left-corner edges, and with fill stores them in g. */
static int32_t left_corners(const gb_ir *ir, const char *nullable, lr_graph *g, int fill)
{
    int32_t r, a, i, n = 0;
    for (r = 0; r < ir->n_rules; r++) {
        if (fill)
            g->first[r] = n;
        for (a = 0; a < ir->rules[r].n_alts; a++) {
            const gb_elem *e = &ir->elems[ir->alt_start[ir->rules[r].first_alt + a]];
            for (i = 0; e[i].kind == GB_REF; i++) {
                if (fill) {
                    g->to[n] = e[i].val;
                    g->grows[n] = e[i + 1].kind != GB_END;
                }
                n++;
                if (!nullable[e[i].val])
                    break;
            }
        }
    }
    if (fill)
        g->first[ir->n_rules] = n;
    return n;
}

static fw_status check_left_recursion(const gb_ir *ir, fw_err *err)
{
    int32_t nr = ir->n_rules, r, a, i;
    char *nullable = calloc((size_t)nr + 1, 1);
    int32_t *index = NULL, *low = NULL, *comp = NULL, *stack = NULL, *call = NULL, *edge = NULL;
    char *on_stack = NULL;
    lr_graph g = {0};
    fw_status st = FW_OK;
    int32_t counter = 0, n_comp = 0, sp = 0, cp = 0, root;
    int changed = 1;

    if (!nullable)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    while (changed) {
        changed = 0;
        for (r = 0; r < nr; r++) {
            if (nullable[r])
                continue;
            for (a = 0; a < ir->rules[r].n_alts; a++) {
                const gb_elem *e = &ir->elems[ir->alt_start[ir->rules[r].first_alt + a]];
                for (i = 0; e[i].kind == GB_REF && nullable[e[i].val]; i++)
                    ;
                if (e[i].kind == GB_END) {
                    nullable[r] = 1;
                    changed = 1;
                    break;
                }
            }
        }
    }
    g.n_edges = left_corners(ir, nullable, &g, 0);
    g.first = malloc(((size_t)nr + 1) * sizeof *g.first);
    g.to = malloc(((size_t)g.n_edges + 1) * sizeof *g.to);
    g.grows = malloc((size_t)g.n_edges + 1);
    index = malloc(((size_t)nr + 1) * sizeof *index);
    low = malloc(((size_t)nr + 1) * sizeof *low);
    comp = malloc(((size_t)nr + 1) * sizeof *comp);
    stack = malloc(((size_t)nr + 1) * sizeof *stack);
    call = malloc(((size_t)nr + 1) * sizeof *call);
    edge = malloc(((size_t)nr + 1) * sizeof *edge);
    on_stack = calloc((size_t)nr + 1, 1);
    if (!g.first || !g.to || !g.grows || !index || !low || !comp || !stack || !call || !edge ||
        !on_stack) {
        st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        goto out;
    }
    left_corners(ir, nullable, &g, 1);
    for (r = 0; r < nr; r++)
        index[r] = -1;
    /* iterative Tarjan: call[] is the DFS path, edge[v] the next edge of v */
    for (root = 0; root < nr; root++) {
        if (index[root] >= 0)
            continue;
        call[cp++] = root;
        index[root] = low[root] = counter++;
        edge[root] = g.first[root];
        stack[sp++] = root;
        on_stack[root] = 1;
        while (cp > 0) {
            int32_t v = call[cp - 1];
            if (edge[v] < g.first[v + 1]) {
                int32_t w = g.to[edge[v]++];
                if (index[w] < 0) {
                    index[w] = low[w] = counter++;
                    edge[w] = g.first[w];
                    stack[sp++] = w;
                    on_stack[w] = 1;
                    call[cp++] = w;
                } else if (on_stack[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                int32_t w;
                do {
                    w = stack[--sp];
                    on_stack[w] = 0;
                    comp[w] = n_comp;
                } while (w != v);
                n_comp++;
            }
            cp--;
            if (cp > 0 && low[v] < low[call[cp - 1]])
                low[call[cp - 1]] = low[v];
        }
    }
    for (r = 0; r < nr && st == FW_OK; r++)
        for (i = g.first[r]; i < g.first[r + 1]; i++)
            if (g.grows[i] && comp[g.to[i]] == comp[r]) {
                st = fw_err_set(err, FW_ERR_INVALID,
                            "left recursion in rule '%s' is not supported (rewrite it "
                            "right-recursively, e.g. x ::= y (op y)*)", ir->rules[r].name);
                break;
            }
out:
    free(nullable);
    free(g.first);
    free(g.to);
    free(g.grows);
    free(index);
    free(low);
    free(comp);
    free(stack);
    free(call);
    free(edge);
    free(on_stack);
    return st;
}

static fw_status flatten(parser *p, gb_ir *ir)
{
    int32_t r, i, n_elems = 0, n_alts = 0;

    for (r = 0; r < p->n_rules; r++) {
        n_elems += p->rules[r].n;
        for (i = 0; i < p->rules[r].n; i++)
            n_alts += p->rules[r].e[i].kind == GB_END;
    }
    ir->elems = malloc(((size_t)n_elems + 1) * sizeof *ir->elems);
    ir->alt_start = malloc(((size_t)n_alts + 1) * sizeof *ir->alt_start);
    ir->rules = calloc((size_t)p->n_rules + 1, sizeof *ir->rules);
    if (!ir->elems || !ir->alt_start || !ir->rules)
        return nomem(p);
    for (r = 0; r < p->n_rules; r++) {
        rb_rule *b = &p->rules[r];
        int start = 1;
        ir->rules[r].name = b->name;
        b->name = NULL;
        ir->rules[r].first_alt = ir->n_alts;
        for (i = 0; i < b->n; i++) {
            if (start) {
                ir->alt_start[ir->n_alts++] = ir->n_elems;
                ir->rules[r].n_alts++;
            }
            ir->elems[ir->n_elems++] = b->e[i];
            start = b->e[i].kind == GB_END;
        }
    }
    ir->n_rules = p->n_rules;
    ir->sets = p->sets;
    ir->n_sets = p->n_sets;
    p->sets = NULL;
    return FW_OK;
}

fw_status gb_parse(const char *text, size_t len, gb_ir *ir, fw_err *err)
{
    parser p;
    int32_t r;

    memset(ir, 0, sizeof *ir);
    memset(&p, 0, sizeof p);
    p.s = text ? text : "";
    p.len = text ? len : 0;
    p.any_rule = -1;
    p.err = err;

    parse_grammar(&p);
    for (r = 0; r < p.n_rules && p.st == FW_OK; r++)
        if (!p.rules[r].defined)
            fail_at(&p, p.rules[r].ref_pos, "undefined rule '%s'", p.rules[r].name);
    if (p.st == FW_OK) {
        ir->root = find_rule(&p, "root", 4);
        if (ir->root < 0)
            p.st = fw_err_set(err, FW_ERR_INVALID, "missing rule 'root'");
    }
    if (p.st == FW_OK)
        flatten(&p, ir);
    if (p.st == FW_OK)
        p.st = check_left_recursion(ir, err);

    for (r = 0; r < p.n_rules; r++) {
        free(p.rules[r].name);
        free(p.rules[r].e);
    }
    free(p.rules);
    free(p.sets);
    free(p.names);
    if (p.st != FW_OK)
        gb_ir_free(ir);
    return p.st;
}

void gb_ir_free(gb_ir *ir)
{
    int32_t r;
    if (!ir)
        return;
    if (ir->rules)
        for (r = 0; r < ir->n_rules; r++)
            free(ir->rules[r].name);
    free(ir->rules);
    free(ir->elems);
    free(ir->alt_start);
    free(ir->sets);
    memset(ir, 0, sizeof *ir);
}
