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
    m->host.read32 = host_read;
    m->host.write32 = host_write;
    m->host.delay = host_delay;
    m->host.user = m;
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
    case DEMON_CAP_SEQ_OFFSET:
        *v = m->cap_count ? m->cap_seqnum[m->cap_head] : m->cap_next_seq;
        return REGMODEL_RESP_OKAY;
    default:
        break;
    }
    if (off >= DEMON_COEF_A_OFFSET && off < DEMON_COEF_A_ENTRY(m->n * m->n)) {
        *v = sext(m->coef_a[(off - DEMON_COEF_A_OFFSET) / 4u], coef_w);
        return REGMODEL_RESP_OKAY;
    }
    if (off >= DEMON_COEF_B_OFFSET && off < DEMON_COEF_B_ENTRY(m->n)) {
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
        return REGMODEL_RESP_OKAY;
    }
    if (off == DEMON_SCRATCH_OFFSET) {
        m->scratch = v;
        return REGMODEL_RESP_OKAY;
    }
    if (off >= DEMON_COEF_A_OFFSET && off < DEMON_COEF_A_ENTRY(m->n * m->n)) {
        m->coef_a[(off - DEMON_COEF_A_OFFSET) / 4u] = v & low_mask(m->coef_int + m->coef_frac);
        return REGMODEL_RESP_OKAY;
    }
    if (off >= DEMON_COEF_B_OFFSET && off < DEMON_COEF_B_ENTRY(m->n)) {
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

