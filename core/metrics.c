/* core/metrics.c -- Prometheus text exposition for fireworksd_* metrics. */
#include "metrics.h"
#include "err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 14
static const double buckets_s[N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                            1, 2.5, 5, 10, 30, 60, 120};

typedef struct histogram {
    uint64_t counts[N_BUCKETS + 1]; /* last: +Inf */
    double sum;
    uint64_t n;
} histogram;

typedef struct status_count {
    int status;
    uint64_t n;
} status_count;

typedef struct model_gauges {
    char name[128];
    fw_runner_stats st;
} model_gauges;

struct fw_metrics {
    pthread_mutex_t mu;
    status_count status[16];
    int32_t n_status;
    uint64_t prompt_tokens, completion_tokens;
    histogram ttft, itl;
    model_gauges models[16];
    int32_t n_models;
};

fw_status fw_metrics_create(fw_metrics **out, fw_err *err)
{
    fw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return FW_OK;
}

void fw_metrics_destroy(fw_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void fw_metrics_request_done(fw_metrics *m, int status, int64_t prompt_tokens,
                             int64_t completion_tokens)
{
    int32_t i;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (i = 0; i < m->n_status && m->status[i].status != status; i++)
        ;
    if (i == m->n_status && m->n_status < 16)
        m->status[m->n_status++].status = status;
    if (i < m->n_status)
        m->status[i].n++;
    m->prompt_tokens += (uint64_t)(prompt_tokens > 0 ? prompt_tokens : 0);
    m->completion_tokens += (uint64_t)(completion_tokens > 0 ? completion_tokens : 0);
    pthread_mutex_unlock(&m->mu);
}

static void observe(fw_metrics *m, histogram *h, double s)
{
    int i;
    pthread_mutex_lock(&m->mu);
    for (i = 0; i < N_BUCKETS && s > buckets_s[i]; i++)
        ;
    h->counts[i]++;
    h->sum += s;
    h->n++;
    pthread_mutex_unlock(&m->mu);
}

void fw_metrics_observe_ttft(fw_metrics *m, double seconds)
{
    if (m)
        observe(m, &m->ttft, seconds);
}

void fw_metrics_observe_itl(fw_metrics *m, double seconds)
{
    if (m)
        observe(m, &m->itl, seconds);
}

void fw_metrics_set_model(fw_metrics *m, const char *model, const fw_runner_stats *st)
{
    int32_t i;
    pthread_mutex_lock(&m->mu);
    for (i = 0; i < m->n_models && strcmp(m->models[i].name, model) != 0; i++)
        ;
    if (i == m->n_models && m->n_models < 16) {
        snprintf(m->models[i].name, sizeof m->models[i].name, "%s", model);
        m->n_models++;
    }
    if (i < m->n_models)
        m->models[i].st = *st;
    pthread_mutex_unlock(&m->mu);
}

static void write_histogram(fw_buf *b, const char *name, const char *help, const histogram *h)
{
    uint64_t cum = 0;
    int i;
    fw_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (i = 0; i < N_BUCKETS; i++) {
        cum += h->counts[i];
        fw_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, buckets_s[i], (unsigned long long)cum);
    }
    cum += h->counts[N_BUCKETS];
    fw_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    fw_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->n);
}

/* Model names are config strings: escape them as label values. */
static void label(fw_buf *b, const char *s)
{
    fw_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fw_buf_putc(b, '\\');
        if (*s == '\n')
            fw_buf_puts(b, "\\n");
        else
            fw_buf_putc(b, *s);
    }
    fw_buf_putc(b, '"');
}

#define PER_MODEL(NAME, TYPE, HELP, FIELD)                                                \
    do {                                                                                  \
        fw_buf_printf(out, "# HELP " NAME " " HELP "\n# TYPE " NAME " " TYPE "\n");      \
        for (i = 0; i < m->n_models; i++) {                                               \
            fw_buf_puts(out, NAME "{model=");                                             \
            label(out, m->models[i].name);                                                \
            fw_buf_printf(out, "} %llu\n", (unsigned long long)(m->models[i].st.FIELD));  \
        }                                                                                 \
    } while (0)

void fw_metrics_write(fw_metrics *m, fw_buf *out)
{
    int32_t i;
    pthread_mutex_lock(&m->mu);
    fw_buf_puts(out, "# HELP fireworksd_requests_total Finished chat-completion requests by HTTP status.\n"
                     "# TYPE fireworksd_requests_total counter\n");
    for (i = 0; i < m->n_status; i++)
        fw_buf_printf(out, "fireworksd_requests_total{status=\"%d\"} %llu\n", m->status[i].status,
                      (unsigned long long)m->status[i].n);
    fw_buf_printf(out,
                  "# HELP fireworksd_prompt_tokens_total Prompt tokens of finished requests.\n"
                  "# TYPE fireworksd_prompt_tokens_total counter\n"
                  "fireworksd_prompt_tokens_total %llu\n"
                  "# HELP fireworksd_completion_tokens_total Generated tokens of finished requests.\n"
                  "# TYPE fireworksd_completion_tokens_total counter\n"
                  "fireworksd_completion_tokens_total %llu\n",
                  (unsigned long long)m->prompt_tokens, (unsigned long long)m->completion_tokens);
    write_histogram(out, "fireworksd_time_to_first_token_seconds",
                    "Time from request to first generated token.", &m->ttft);
    write_histogram(out, "fireworksd_inter_token_seconds", "Time between generated tokens.", &m->itl);
    PER_MODEL("fireworksd_queue_depth", "gauge", "Requests and preempted sequences waiting for the scheduler.", waiting);
    PER_MODEL("fireworksd_running_sequences", "gauge", "Sequences in the running batch.", running);
    PER_MODEL("fireworksd_kv_blocks", "gauge", "KV cache blocks.", kv.n_blocks);
    PER_MODEL("fireworksd_kv_blocks_used", "gauge", "KV cache blocks referenced by sequences.", kv.n_used);
    PER_MODEL("fireworksd_kv_blocks_cached", "gauge", "Unreferenced KV blocks kept for prefix reuse.", kv.n_cached);
    PER_MODEL("fireworksd_prefix_cache_hit_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
          kv.hit_tokens);
    PER_MODEL("fireworksd_scheduler_steps_total", "counter", "Batched model steps run.", steps);
    PER_MODEL("fireworksd_preemptions_total", "counter",
              "Sequences preempted for KV cache blocks (recomputed when they resume).", preemptions);
    pthread_mutex_unlock(&m->mu);
}
