/* The demon register-file model for the host unit tests (see regmodel.h). */
#include <string.h>

#include "demon_regs.h"
#include "regmodel.h"

static uint32_t low_mask(uint32_t width)
{
    return width >= 32u ? 0xFFFFFFFFu : ((1u << width) - 1u);
}

/* Sign-extend the low `width` bits of w to 32 bits (as the RTL returns coefficient entries). */
static uint32_t sext(uint32_t w, uint32_t width)
{
    uint32_t m = low_mask(width);
    w &= m;
    if (width < 32u && (w & (1u << (width - 1u)))) {
        w |= ~m;
    }
    return w;
}

static int host_read(void *user, uint32_t offset, uint32_t *value);
static int host_write(void *user, uint32_t offset, uint32_t value);
static void host_delay(void *user, uint32_t cycles);
static int host_irq_line(void *user);
static int host_wait_irq(void *user, uint32_t timeout);

static int32_t as_int(uint32_t w)
{
    int32_t v;
    memcpy(&v, &w, sizeof v);
    return v;
}

void regmodel_init(regmodel_t *m)
{
    memset(m, 0, sizeof *m);
    m->n = 4u;
    m->multipliers = 4u;
    m->x_bits = 10u;
    m->f_bits = 10u;
    m->coef_int = 3u;
    m->coef_frac = 9u;
    m->bias_int = 3u;
    m->bias_frac = 9u;
    m->cap_depth = 32u;
    m->id = DEMON_ID_RESET;
    m->version = DEMON_VERSION_RESET;
    m->sched_k = DEMON_SCHED_K_RESET;
    m->host.read32 = host_read;
    m->host.write32 = host_write;
    m->host.delay = host_delay;
    m->host.irq_line = host_irq_line;
    m->host.wait_irq = host_wait_irq;
    m->irq_threshold = DEMON_IRQ_THRESHOLD_RESET;
    m->host.user = m;
}

void regmodel_mlp(regmodel_t *m, uint32_t n, uint32_t emb, uint32_t layers, const uint32_t *h)
{
    uint32_t l;
    m->unit = 1u;
    m->n = n;
    m->emb = emb;
    m->layers = layers;
    for (l = 0; l < 3u; l++) m->hidden[l] = l < layers ? h[l] : 0u;
    m->coef_int = m->coef_frac = 0u;
    m->weight_int = 5u;
    m->weight_frac = 11u;
    m->bias_int = 2u;
    m->bias_frac = 12u;
    m->act_int = 5u;
    m->act_frac = 11u;
    m->scale_int = 1u;
    m->scale_frac = 22u;
    m->ctrl_bits = 12u;
    m->sched_len = 16u;
    m->activation = 1u;
}

uint32_t regmodel_w_entries(const regmodel_t *m)
{
    uint32_t l;
    uint32_t in = m->n + m->emb;
    uint32_t total = 0u;
    for (l = 0; l < m->layers; l++) {
        total += m->hidden[l] * in;
        in = m->hidden[l];
    }
    return total + m->n * in;
}

uint32_t regmodel_b_entries(const regmodel_t *m)
{
    uint32_t l;
    uint32_t total = m->n;
    for (l = 0; l < m->layers; l++) total += m->hidden[l];
    return total;
}

/* A score-network array entry: returns its storage and width, or NULL if unmapped. */
static uint32_t *mlp_slot(regmodel_t *m, uint32_t off, uint32_t *width)
{
    struct { uint32_t base; uint32_t count; uint32_t *mem; uint32_t width; } arr[7];
    uint32_t k;
    if (m->unit != 1u) return NULL;
    arr[0].base = DEMON_MLP_W_OFFSET; arr[0].count = regmodel_w_entries(m); arr[0].mem = m->mlp_w;
    arr[0].width = m->weight_int + m->weight_frac;
    arr[1].base = DEMON_MLP_B_OFFSET; arr[1].count = regmodel_b_entries(m); arr[1].mem = m->mlp_b;
    arr[1].width = m->bias_int + m->bias_frac;
    arr[2].base = DEMON_SCHED_SCALE_OFFSET; arr[2].count = m->sched_len; arr[2].mem = m->sched_scale;
    arr[2].width = m->scale_int + m->scale_frac;
    arr[3].base = DEMON_SCHED_DRIFT_OFFSET; arr[3].count = m->sched_len; arr[3].mem = m->sched_drift;
    arr[3].width = m->ctrl_bits;
    arr[4].base = DEMON_SCHED_NOISE_OFFSET; arr[4].count = m->sched_len; arr[4].mem = m->sched_noise;
    arr[4].width = m->ctrl_bits;
    arr[5].base = DEMON_SCHED_EMB_OFFSET; arr[5].count = m->sched_len * m->emb; arr[5].mem = m->sched_emb;
    arr[5].width = m->act_int + m->act_frac;
    arr[6].base = DEMON_ACT_TABLE_OFFSET; arr[6].count = m->activation == 2u ? (1u << m->table_bits) + 1u : 0u;
    arr[6].mem = m->act_table; arr[6].width = m->act_int + m->table_frac;
    for (k = 0; k < 7u; k++) {
        if (off >= arr[k].base && off < arr[k].base + 4u * arr[k].count) {
            *width = arr[k].width;
            return &arr[k].mem[(off - arr[k].base) / 4u];
        }
    }
    return NULL;
}

static void cap_reset(regmodel_t *m)
{
    m->cap_head = 0u;
    m->cap_count = 0u;
    m->cap_next_seq = 0u;
    m->cap_overflow = 0u;
    m->cap_underflow = 0u;
}

void regmodel_accept(regmodel_t *m, const int32_t *codes)
{
    uint32_t j;
    uint32_t xm = low_mask(m->x_bits);
    if (m->cnt_in != 0xFFFFFFFFu) m->cnt_in += 1u;
    if (m->cap_count < m->cap_depth) {
        uint32_t slot = (m->cap_head + m->cap_count) % m->cap_depth;
        for (j = 0; j < m->n; j++) {
            /* the ADC word carries X_BITS bits per channel */
            m->cap_codes[slot][j] = as_int(sext((uint32_t)codes[j] & xm, m->x_bits));
        }
        m->cap_seqnum[slot] = m->cap_next_seq;
        m->cap_count += 1u;
    } else {
        m->cap_overflow = 1u;
    }
    m->cap_next_seq += 1u;
    if (m->unit == 1u) {
        /* the schedule step advances per accepted input, saturating at K-1 */
        uint32_t k = m->sched_k & 0xFFFFu;
        if (k < 1u) k = 1u;
        if (k > m->sched_len) k = m->sched_len;
        if (m->step + 1u < k) m->step += 1u;
    }
}

static uint32_t timing(const regmodel_t *m)
{
    uint32_t g = (m->n + m->multipliers - 1u) / m->multipliers;
    uint32_t l = m->n * g + 1u;
    return DEMON_TIMING_LATENCY_SET(l) | DEMON_TIMING_II_SET(l);
}

static int model_read(regmodel_t *m, uint32_t off, uint32_t *v)
{
    uint32_t coef_w = m->coef_int + m->coef_frac;
    uint32_t bias_w = m->bias_int + m->bias_frac;
    *v = 0u;
    switch (off) {
    case DEMON_ID_OFFSET: *v = m->id; return REGMODEL_RESP_OKAY;
    case DEMON_VERSION_OFFSET: *v = m->version; return REGMODEL_RESP_OKAY;
    case DEMON_SHAPE_OFFSET:
        *v = DEMON_SHAPE_N_SET(m->n) | DEMON_SHAPE_MULTIPLIERS_SET(m->multipliers);
        return REGMODEL_RESP_OKAY;
    case DEMON_WIDTHS_OFFSET:
        *v = DEMON_WIDTHS_X_BITS_SET(m->x_bits) | DEMON_WIDTHS_F_BITS_SET(m->f_bits)
           | DEMON_WIDTHS_COEF_W_SET(coef_w) | DEMON_WIDTHS_BIAS_W_SET(bias_w);
        return REGMODEL_RESP_OKAY;
    case DEMON_FORMAT_OFFSET:
        *v = DEMON_FORMAT_COEF_FRAC_SET(m->coef_frac) | DEMON_FORMAT_BIAS_FRAC_SET(m->bias_frac)
           | DEMON_FORMAT_ROUNDING_SET(m->rounding) | DEMON_FORMAT_OVERFLOW_SET(m->overflow);
        return REGMODEL_RESP_OKAY;
    case DEMON_TIMING_OFFSET: *v = timing(m); return REGMODEL_RESP_OKAY;
    case DEMON_CTRL_OFFSET: *v = DEMON_CTRL_ENABLE_SET(m->enable); return REGMODEL_RESP_OKAY;
    case DEMON_STATUS_OFFSET: *v = m->status; return REGMODEL_RESP_OKAY;
    case DEMON_CNT_IN_OFFSET: *v = m->cnt_in; return REGMODEL_RESP_OKAY;
    case DEMON_CNT_OUT_OFFSET: *v = m->cnt_out; return REGMODEL_RESP_OKAY;
    case DEMON_CNT_DROP_OFFSET: *v = m->cnt_drop; return REGMODEL_RESP_OKAY;
    case DEMON_CNT_SAT_OFFSET: *v = m->cnt_sat; return REGMODEL_RESP_OKAY;
    case DEMON_SCRATCH_OFFSET: *v = m->scratch; return REGMODEL_RESP_OKAY;
    case DEMON_CAP_STATUS_OFFSET:
        *v = DEMON_CAP_STATUS_LEVEL_SET(m->cap_count) | DEMON_CAP_STATUS_DEPTH_SET(m->cap_depth)
           | DEMON_CAP_STATUS_OVERFLOW_SET(m->cap_overflow) | DEMON_CAP_STATUS_UNDERFLOW_SET(m->cap_underflow);
        return REGMODEL_RESP_OKAY;
    case DEMON_IRQ_ENABLE_OFFSET: *v = m->irq_enable; return REGMODEL_RESP_OKAY;
    case DEMON_IRQ_STATUS_OFFSET: *v = regmodel_irq_status(m); return REGMODEL_RESP_OKAY;
    case DEMON_IRQ_THRESHOLD_OFFSET: *v = m->irq_threshold; return REGMODEL_RESP_OKAY;
    case DEMON_CAP_SEQ_OFFSET:
        *v = m->cap_count ? m->cap_seqnum[m->cap_head] : m->cap_next_seq;
        return REGMODEL_RESP_OKAY;
    case DEMON_UNIT_OFFSET:
        *v = DEMON_UNIT_FORCE_UNIT_SET(m->unit) | DEMON_UNIT_ACTIVATION_SET(m->activation)
           | DEMON_UNIT_LAYERS_SET(m->layers) | DEMON_UNIT_EMB_SET(m->emb);
        return REGMODEL_RESP_OKAY;
    case DEMON_MLP_SHAPE_OFFSET:
        *v = DEMON_MLP_SHAPE_HIDDEN1_SET(m->hidden[0]) | DEMON_MLP_SHAPE_HIDDEN2_SET(m->hidden[1])
           | DEMON_MLP_SHAPE_HIDDEN3_SET(m->hidden[2]);
        return REGMODEL_RESP_OKAY;
    case DEMON_MLP_WIDTHS_OFFSET:
        *v = m->unit ? (DEMON_MLP_WIDTHS_WEIGHT_W_SET(m->weight_int + m->weight_frac)
                        | DEMON_MLP_WIDTHS_ACT_W_SET(m->act_int + m->act_frac)
                        | DEMON_MLP_WIDTHS_SCALE_W_SET(m->scale_int + m->scale_frac)
                        | DEMON_MLP_WIDTHS_CTRL_BITS_SET(m->ctrl_bits)) : 0u;
        return REGMODEL_RESP_OKAY;
    case DEMON_MLP_FORMAT_OFFSET:
        *v = m->unit ? (DEMON_MLP_FORMAT_WEIGHT_FRAC_SET(m->weight_frac) | DEMON_MLP_FORMAT_ACT_FRAC_SET(m->act_frac)
                        | DEMON_MLP_FORMAT_SCALE_FRAC_SET(m->scale_frac)) : 0u;
        return REGMODEL_RESP_OKAY;
    case DEMON_SCHED_LEN_OFFSET: *v = m->unit ? m->sched_len : 0u; return REGMODEL_RESP_OKAY;
    case DEMON_ACT_TABLE_FMT_OFFSET:
        *v = (m->unit && m->activation == 2u)
           ? (DEMON_ACT_TABLE_FMT_BITS_SET(m->table_bits) | DEMON_ACT_TABLE_FMT_FRAC_SET(m->table_frac)) : 0u;
        return REGMODEL_RESP_OKAY;
    case DEMON_SCHED_K_OFFSET: *v = m->sched_k; return REGMODEL_RESP_OKAY;
    case DEMON_STEP_OFFSET: *v = m->step; return REGMODEL_RESP_OKAY;
    default:
        break;
    }
    {
        uint32_t width;
        uint32_t *slot = mlp_slot(m, off, &width);
        if (slot != NULL) {
            *v = sext(*slot, width);
            return REGMODEL_RESP_OKAY;
        }
    }
    if (m->unit == 0u && off >= DEMON_COEF_A_OFFSET && off < DEMON_COEF_A_ENTRY(m->n * m->n)) {
        *v = sext(m->coef_a[(off - DEMON_COEF_A_OFFSET) / 4u], coef_w);
        return REGMODEL_RESP_OKAY;
    }
    if (m->unit == 0u && off >= DEMON_COEF_B_OFFSET && off < DEMON_COEF_B_ENTRY(m->n)) {
        *v = sext(m->coef_b[(off - DEMON_COEF_B_OFFSET) / 4u], bias_w);
        return REGMODEL_RESP_OKAY;
    }
    if (off >= DEMON_CAP_DATA_OFFSET && off < DEMON_CAP_DATA_ENTRY(m->n)) {
        uint32_t j = (off - DEMON_CAP_DATA_OFFSET) / 4u;
        if (m->cap_count == 0u) {
            if (j == m->n - 1u) m->cap_underflow = 1u;
            return REGMODEL_RESP_OKAY;
        }
        *v = (uint32_t)m->cap_codes[m->cap_head][j];
        if (j == m->n - 1u) {
            m->cap_head = (m->cap_head + 1u) % m->cap_depth;
            m->cap_count -= 1u;
        }
        return REGMODEL_RESP_OKAY;
    }
    return REGMODEL_RESP_SLVERR;
}

static int model_write(regmodel_t *m, uint32_t off, uint32_t v)
{
    if (off == DEMON_CTRL_OFFSET) {
        m->enable = DEMON_CTRL_ENABLE_GET(v);
        if (DEMON_CTRL_CLEAR_GET(v)) {
            m->cnt_in = m->cnt_out = m->cnt_drop = m->cnt_sat = 0u;
        }
        if (DEMON_CTRL_CAP_CLEAR_GET(v)) {
            cap_reset(m);
        }
        if (DEMON_CTRL_STEP_RESET_GET(v)) {
            m->step = 0u;
        }
        return REGMODEL_RESP_OKAY;
    }
    if (off == DEMON_SCHED_K_OFFSET) {
        m->sched_k = v;
        return REGMODEL_RESP_OKAY;
    }
    if (off == DEMON_IRQ_ENABLE_OFFSET) {
        m->irq_enable = v & 0x1Fu;
        return REGMODEL_RESP_OKAY;
    }
    if (off == DEMON_IRQ_STATUS_OFFSET) {
        m->irq_sticky &= ~v;       /* write 1 to clear; level conditions are re-evaluated at reads */
        return REGMODEL_RESP_OKAY;
    }
    if (off == DEMON_IRQ_THRESHOLD_OFFSET) {
        m->irq_threshold = v & 0x1FFu;
        return REGMODEL_RESP_OKAY;
    }
    {
        uint32_t width;
        uint32_t *slot = mlp_slot(m, off, &width);
        if (slot != NULL) {
            *slot = v & low_mask(width);
            return REGMODEL_RESP_OKAY;
        }
    }
    if (off == DEMON_SCRATCH_OFFSET) {
        m->scratch = v;
        return REGMODEL_RESP_OKAY;
    }
    if (m->unit == 0u && off >= DEMON_COEF_A_OFFSET && off < DEMON_COEF_A_ENTRY(m->n * m->n)) {
        m->coef_a[(off - DEMON_COEF_A_OFFSET) / 4u] = v & low_mask(m->coef_int + m->coef_frac);
        return REGMODEL_RESP_OKAY;
    }
    if (m->unit == 0u && off >= DEMON_COEF_B_OFFSET && off < DEMON_COEF_B_ENTRY(m->n)) {
        m->coef_b[(off - DEMON_COEF_B_OFFSET) / 4u] = v & low_mask(m->bias_int + m->bias_frac);
        return REGMODEL_RESP_OKAY;
    }
    return REGMODEL_RESP_SLVERR;   /* read-only, CAP_DATA, or unmapped: nothing changes */
}

static void log_access(regmodel_t *m, char op, uint32_t off, uint32_t v, int resp)
{
    if (m->nlog < REGMODEL_LOG_MAX) {
        m->log[m->nlog].op = op;
        m->log[m->nlog].offset = off;
        m->log[m->nlog].value = v;
        m->log[m->nlog].resp = resp;
        m->nlog += 1u;
    }
}

static int host_read(void *user, uint32_t offset, uint32_t *value)
{
    regmodel_t *m = (regmodel_t *)user;
    int resp;
    m->accesses += 1u;
    if (m->fail_at != 0u && m->accesses == m->fail_at) {
        *value = 0u;
        log_access(m, 'R', offset, 0u, -1);
        return 1;
    }
    resp = model_read(m, offset & ~3u, value);
    if (resp != REGMODEL_RESP_OKAY) m->irq_sticky |= DEMON_IRQ_STATUS_BUS_ERROR_MASK;
    log_access(m, 'R', offset, *value, resp);
    return resp != REGMODEL_RESP_OKAY;
}

static int host_write(void *user, uint32_t offset, uint32_t value)
{
    regmodel_t *m = (regmodel_t *)user;
    int resp;
    m->accesses += 1u;
    if (m->fail_at != 0u && m->accesses == m->fail_at) {
        log_access(m, 'W', offset, value, -1);
        return 1;
    }
    resp = model_write(m, offset & ~3u, value);
    if (resp != REGMODEL_RESP_OKAY) m->irq_sticky |= DEMON_IRQ_STATUS_BUS_ERROR_MASK;
    log_access(m, 'W', offset, value, resp);
    return resp != REGMODEL_RESP_OKAY;
}

static void host_delay(void *user, uint32_t cycles)
{
    regmodel_t *m = (regmodel_t *)user;
    uint32_t k;
    m->delays += 1u;
    m->delay_cycles += cycles;
    for (k = 0; k < m->feed_per_delay && m->feed_pos < m->feed_count; k++) {
        if (m->enable) {
            regmodel_accept(m, m->feed + (size_t)m->feed_pos * m->n);
        }
        m->feed_pos += 1u;
    }
}

void regmodel_clear_log(regmodel_t *m)
{
    m->nlog = 0u;
}

uint32_t regmodel_keep_writes(regmodel_t *m)
{
    uint32_t i;
    uint32_t k = 0u;
    uint32_t dropped = 0u;
    for (i = 0; i < m->nlog; i++) {
        if (m->log[i].op == 'W') {
            m->log[k++] = m->log[i];
        } else {
            dropped++;
        }
    }
    m->nlog = k;
    return dropped;
}

uint32_t regmodel_writes(const regmodel_t *m)
{
    uint32_t i;
    uint32_t c = 0u;
    for (i = 0; i < m->nlog; i++) c += m->log[i].op == 'W';
    return c;
}

uint32_t regmodel_reads(const regmodel_t *m)
{
    return m->nlog - regmodel_writes(m);
}

int32_t regmodel_coef_a(const regmodel_t *m, uint32_t i)
{
    return as_int(sext(m->coef_a[i], m->coef_int + m->coef_frac));
}

int32_t regmodel_coef_b(const regmodel_t *m, uint32_t i)
{
    return as_int(sext(m->coef_b[i], m->bias_int + m->bias_frac));
}


uint32_t regmodel_irq_status(const regmodel_t *m)
{
    uint32_t thr = m->irq_threshold == 0u ? 1u : m->irq_threshold;
    uint32_t s = m->irq_sticky;
    if (m->cap_count >= thr) s |= DEMON_IRQ_STATUS_CAP_LEVEL_MASK;
    if (m->cap_overflow) s |= DEMON_IRQ_STATUS_CAP_OVERFLOW_MASK;
    if (!m->enable && (m->status & (DEMON_STATUS_BUSY_MASK | DEMON_STATUS_OUT_VALID_MASK)) == 0u) {
        s |= DEMON_IRQ_STATUS_IDLE_MASK;
    }
    return s;
}

static int host_irq_line(void *user)
{
    const regmodel_t *m = (const regmodel_t *)user;
    return (regmodel_irq_status(m) & m->irq_enable) != 0u;
}

/* Sleep in steps of 100 cycles (each feeds samples as a delay does) until the line is high. */
static int host_wait_irq(void *user, uint32_t timeout)
{
    regmodel_t *m = (regmodel_t *)user;
    uint32_t t = 0u;
    while (!host_irq_line(m) && t < timeout) {
        host_delay(m, 100u);
        t += 100u;
    }
    return host_irq_line(m);
}
