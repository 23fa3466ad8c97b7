/*
 * demon.c: the demon driver (see include/demon.h for the contract). C99, no allocation, no
 * library calls: it builds unchanged for a bare-metal core and for the host.
 */
#include <stddef.h>

#include "demon.h"
#include "demon_platform.h"

#define DEMON_DEV_MAGIC 0x444D4F4Eu   /* "DMON" */

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static demon_status_t rd(demon_dev_t *dev, uint32_t offset, uint32_t *value)
{
    return demon_plat_read32(dev->plat, offset, value) == 0 ? DEMON_OK : DEMON_E_BUS;
}

static demon_status_t wr(demon_dev_t *dev, uint32_t offset, uint32_t value)
{
    return demon_plat_write32(dev->plat, offset, value) == 0 ? DEMON_OK : DEMON_E_BUS;
}

static int ready(const demon_dev_t *dev)
{
    return dev->magic == DEMON_DEV_MAGIC;
}

/* Common entry check: NULL device, then an uninitialised one. */
static demon_status_t check_dev(const demon_dev_t *dev)
{
    if (dev == NULL) {
        return DEMON_E_NULL;
    }
    return ready(dev) ? DEMON_OK : DEMON_E_NOT_READY;
}

/* Raw bounds of a signed `width`-bit format, 1 <= width <= 32. */
static void raw_bounds(uint32_t width, int32_t *lo, int32_t *hi)
{
    if (width >= 32u) {
        *lo = INT32_MIN;
        *hi = INT32_MAX;
    } else {
        *hi = (int32_t)((1u << (width - 1u)) - 1u);
        *lo = -*hi - 1;
    }
}

static demon_status_t check_values(const int32_t *v, uint32_t count, uint32_t width)
{
    int32_t lo;
    int32_t hi;
    uint32_t i;
    raw_bounds(width, &lo, &hi);
    for (i = 0; i < count; i++) {
        if (v[i] < lo || v[i] > hi) {
            return DEMON_E_RANGE;
        }
    }
    return DEMON_OK;
}

/* A 32-bit bus word holding a signed value: its two's complement (the hardware keeps the low bits). */
static uint32_t to_word(int32_t v)
{
    return (uint32_t)v;
}

/* The signed value of a bus word (the hardware sign-extends coefficient and capture reads). */
static int32_t from_word(uint32_t w)
{
    if (w <= (uint32_t)INT32_MAX) {
        return (int32_t)w;
    }
    return (int32_t)(w - 0x80000000u) + INT32_MIN;
}

static demon_status_t write_ctrl(demon_dev_t *dev, uint32_t extra)
{
    return wr(dev, DEMON_CTRL_OFFSET, dev->ctrl | extra);
}

/* ---------------------------------------------------------------------------------------------
 * Status names
 * ------------------------------------------------------------------------------------------- */

const char *demon_status_name(demon_status_t status)
{
    switch (status) {
    case DEMON_OK: return "DEMON_OK";
    case DEMON_E_NULL: return "DEMON_E_NULL";
    case DEMON_E_NOT_READY: return "DEMON_E_NOT_READY";
    case DEMON_E_SIZE: return "DEMON_E_SIZE";
    case DEMON_E_RANGE: return "DEMON_E_RANGE";
    case DEMON_E_ID: return "DEMON_E_ID";
    case DEMON_E_BUS: return "DEMON_E_BUS";
    case DEMON_E_EMPTY: return "DEMON_E_EMPTY";
    case DEMON_E_OVERRUN: return "DEMON_E_OVERRUN";
    case DEMON_E_TIMEOUT: return "DEMON_E_TIMEOUT";
    case DEMON_E_UNSUPPORTED: return "DEMON_E_UNSUPPORTED";
    default: return "DEMON_E_UNKNOWN";
    }
}

/* ---------------------------------------------------------------------------------------------
 * Init and reset
 * ------------------------------------------------------------------------------------------- */

demon_status_t demon_init(demon_dev_t *dev, void *plat)
{
    demon_status_t st;
    uint32_t id;
    uint32_t version;
    uint32_t shape;
    uint32_t widths;
    uint32_t format;
    uint32_t timing;
    uint32_t cap;
    demon_info_t info;

    if (dev == NULL || plat == NULL) {
        return DEMON_E_NULL;
    }
    dev->magic = 0u;
    dev->plat = plat;
    if ((st = rd(dev, DEMON_ID_OFFSET, &id)) != DEMON_OK) return st;
    if (id != DEMON_ID_RESET) {
        return DEMON_E_ID;
    }
    if ((st = rd(dev, DEMON_VERSION_OFFSET, &version)) != DEMON_OK) return st;
    if ((version >> 16) != DEMON_DRIVER_MAP_MAJOR || (version & 0xFFFFu) < DEMON_DRIVER_MAP_MINOR) {
        return DEMON_E_ID;
    }
    if ((st = rd(dev, DEMON_SHAPE_OFFSET, &shape)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_WIDTHS_OFFSET, &widths)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_FORMAT_OFFSET, &format)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_TIMING_OFFSET, &timing)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &cap)) != DEMON_OK) return st;

    info.version = version;
    info.n = DEMON_SHAPE_N_GET(shape);
    info.multipliers = DEMON_SHAPE_MULTIPLIERS_GET(shape);
    info.x_bits = DEMON_WIDTHS_X_BITS_GET(widths);
    info.f_bits = DEMON_WIDTHS_F_BITS_GET(widths);
    info.coef_w = DEMON_WIDTHS_COEF_W_GET(widths);
    info.bias_w = DEMON_WIDTHS_BIAS_W_GET(widths);
    info.coef_frac = DEMON_FORMAT_COEF_FRAC_GET(format);
    info.bias_frac = DEMON_FORMAT_BIAS_FRAC_GET(format);
    info.rounding = DEMON_FORMAT_ROUNDING_GET(format);
    info.overflow = DEMON_FORMAT_OVERFLOW_GET(format);
    info.latency = DEMON_TIMING_LATENCY_GET(timing);
    info.ii = DEMON_TIMING_II_GET(timing);
    info.cap_depth = DEMON_CAP_STATUS_DEPTH_GET(cap);
    /* A register file that is not a sane instance (n outside 1..64, widths outside 2..32). */
    if (info.n < 1u || info.n > DEMON_MAX_N || info.x_bits < 2u || info.x_bits > 24u
            || info.coef_w < 2u || info.coef_w > 32u || info.bias_w < 2u || info.bias_w > 32u
            || info.cap_depth < 1u) {
        return DEMON_E_ID;
    }
    dev->info = info;
    dev->ctrl = 0u;
    dev->cap_avail = 0u;
    dev->cap_seq = 0u;
    dev->magic = DEMON_DEV_MAGIC;
    return demon_reset(dev);
}

demon_status_t demon_reset(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    dev->ctrl = 0u;
    dev->cap_avail = 0u;
    dev->cap_seq = 0u;
    return write_ctrl(dev, DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK);
}

demon_status_t demon_info(const demon_dev_t *dev, demon_info_t *info)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (info == NULL) return DEMON_E_NULL;
    *info = dev->info;
    return DEMON_OK;
}

demon_status_t demon_coef_range(const demon_dev_t *dev, uint32_t which, int32_t *lo, int32_t *hi)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (lo == NULL || hi == NULL) return DEMON_E_NULL;
    if (which > 1u) return DEMON_E_RANGE;
    raw_bounds(which == 0u ? dev->info.coef_w : dev->info.bias_w, lo, hi);
    return DEMON_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Coefficients
 * ------------------------------------------------------------------------------------------- */

demon_status_t demon_load_matrix(demon_dev_t *dev, const int32_t *a, uint32_t rows, uint32_t cols)
{
    demon_status_t st = check_dev(dev);
    uint32_t i;
    uint32_t count;
    if (st != DEMON_OK) return st;
    if (a == NULL) return DEMON_E_NULL;
    if (rows != dev->info.n || cols != dev->info.n) return DEMON_E_SIZE;
    count = rows * cols;
    if ((st = check_values(a, count, dev->info.coef_w)) != DEMON_OK) return st;
    for (i = 0; i < count; i++) {
        if ((st = wr(dev, DEMON_COEF_A_ENTRY(i), to_word(a[i]))) != DEMON_OK) return st;
    }
    return DEMON_OK;
}

demon_status_t demon_load_vector(demon_dev_t *dev, const int32_t *b, uint32_t len)
{
    demon_status_t st = check_dev(dev);
    uint32_t i;
    if (st != DEMON_OK) return st;
    if (b == NULL) return DEMON_E_NULL;
    if (len != dev->info.n) return DEMON_E_SIZE;
    if ((st = check_values(b, len, dev->info.bias_w)) != DEMON_OK) return st;
    for (i = 0; i < len; i++) {
        if ((st = wr(dev, DEMON_COEF_B_ENTRY(i), to_word(b[i]))) != DEMON_OK) return st;
    }
    return DEMON_OK;
}

demon_status_t demon_read_matrix(demon_dev_t *dev, int32_t *a, uint32_t rows, uint32_t cols)
{
    demon_status_t st = check_dev(dev);
    uint32_t i;
    uint32_t w;
    if (st != DEMON_OK) return st;
    if (a == NULL) return DEMON_E_NULL;
    if (rows != dev->info.n || cols != dev->info.n) return DEMON_E_SIZE;
    for (i = 0; i < rows * cols; i++) {
        if ((st = rd(dev, DEMON_COEF_A_ENTRY(i), &w)) != DEMON_OK) return st;
        a[i] = from_word(w);
    }
    return DEMON_OK;
}

demon_status_t demon_read_vector(demon_dev_t *dev, int32_t *b, uint32_t len)
{
    demon_status_t st = check_dev(dev);
    uint32_t i;
    uint32_t w;
    if (st != DEMON_OK) return st;
    if (b == NULL) return DEMON_E_NULL;
    if (len != dev->info.n) return DEMON_E_SIZE;
    for (i = 0; i < len; i++) {
        if ((st = rd(dev, DEMON_COEF_B_ENTRY(i), &w)) != DEMON_OK) return st;
        b[i] = from_word(w);
    }
    return DEMON_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Control, status, counters
 * ------------------------------------------------------------------------------------------- */

demon_status_t demon_start(demon_dev_t *dev, uint32_t flags)
{
    demon_status_t st = check_dev(dev);
    uint32_t extra = 0u;
    if (st != DEMON_OK) return st;
    if ((flags & ~(DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE)) != 0u) return DEMON_E_RANGE;
    if (flags & DEMON_START_CLEAR_COUNTERS) extra |= DEMON_CTRL_CLEAR_MASK;
    if (flags & DEMON_START_CLEAR_CAPTURE) extra |= DEMON_CTRL_CAP_CLEAR_MASK;
    dev->ctrl = DEMON_CTRL_ENABLE_MASK;
    if (flags & DEMON_START_CLEAR_CAPTURE) {
        dev->cap_avail = 0u;
        dev->cap_seq = 0u;
    }
    return write_ctrl(dev, extra);
}

demon_status_t demon_stop(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    dev->ctrl = 0u;
    return write_ctrl(dev, 0u);
}

demon_status_t demon_read_state(demon_dev_t *dev, demon_state_t *state)
{
    demon_status_t st = check_dev(dev);
    uint32_t ctrl;
    uint32_t status;
    uint32_t cap;
    if (st != DEMON_OK) return st;
    if (state == NULL) return DEMON_E_NULL;
    if ((st = rd(dev, DEMON_CTRL_OFFSET, &ctrl)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_STATUS_OFFSET, &status)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &cap)) != DEMON_OK) return st;
    state->enabled = DEMON_CTRL_ENABLE_GET(ctrl);
    state->busy = DEMON_STATUS_BUSY_GET(status);
    state->out_valid = DEMON_STATUS_OUT_VALID_GET(status);
    state->in_ready = DEMON_STATUS_IN_READY_GET(status);
    state->cap_level = DEMON_CAP_STATUS_LEVEL_GET(cap);
    state->cap_overflow = DEMON_CAP_STATUS_OVERFLOW_GET(cap);
    state->cap_underflow = DEMON_CAP_STATUS_UNDERFLOW_GET(cap);
    return DEMON_OK;
}

demon_status_t demon_read_counters(demon_dev_t *dev, demon_counters_t *counters)
{
    demon_status_t st = check_dev(dev);
    demon_counters_t c;
    if (st != DEMON_OK) return st;
    if (counters == NULL) return DEMON_E_NULL;
    if ((st = rd(dev, DEMON_CNT_IN_OFFSET, &c.in)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CNT_OUT_OFFSET, &c.out)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CNT_DROP_OFFSET, &c.drop)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CNT_SAT_OFFSET, &c.sat)) != DEMON_OK) return st;
    *counters = c;
    return DEMON_OK;
}

demon_status_t demon_clear_counters(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return write_ctrl(dev, DEMON_CTRL_CLEAR_MASK);
}

demon_status_t demon_capture_clear(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    dev->cap_avail = 0u;
    dev->cap_seq = 0u;
    return write_ctrl(dev, DEMON_CTRL_CAP_CLEAR_MASK);
}

demon_status_t demon_clear_errors(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    dev->cap_avail = 0u;
    dev->cap_seq = 0u;
    return write_ctrl(dev, DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK);
}

/* ---------------------------------------------------------------------------------------------
 * Capture FIFO
 * ------------------------------------------------------------------------------------------- */

demon_status_t demon_capture_status(demon_dev_t *dev, uint32_t *level, uint32_t *overflow, uint32_t *underflow)
{
    demon_status_t st = check_dev(dev);
    uint32_t cap;
    if (st != DEMON_OK) return st;
    if (level == NULL && overflow == NULL && underflow == NULL) return DEMON_E_NULL;
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &cap)) != DEMON_OK) return st;
    if (level != NULL) *level = DEMON_CAP_STATUS_LEVEL_GET(cap);
    if (overflow != NULL) *overflow = DEMON_CAP_STATUS_OVERFLOW_GET(cap);
    if (underflow != NULL) *underflow = DEMON_CAP_STATUS_UNDERFLOW_GET(cap);
    return DEMON_OK;
}

/* Make sure an entry is known to wait: poll CAP_STATUS (and CAP_SEQ for the first of them) only
 * when the known count has run out. */
static demon_status_t capture_refill(demon_dev_t *dev)
{
    demon_status_t st;
    uint32_t cap;
    uint32_t seq;
    if (dev->cap_avail != 0u) {
        return DEMON_OK;
    }
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &cap)) != DEMON_OK) return st;
    if (DEMON_CAP_STATUS_OVERFLOW_GET(cap) != 0u) {
        return DEMON_E_OVERRUN;
    }
    if (DEMON_CAP_STATUS_LEVEL_GET(cap) == 0u) {
        return DEMON_E_EMPTY;
    }
    /* No sample was ever lost, so the waiting entries are consecutive from the head's number. */
    if ((st = rd(dev, DEMON_CAP_SEQ_OFFSET, &seq)) != DEMON_OK) return st;
    dev->cap_avail = DEMON_CAP_STATUS_LEVEL_GET(cap);
    dev->cap_seq = seq;
    return DEMON_OK;
}

demon_status_t demon_capture_read(demon_dev_t *dev, uint32_t *seq, int32_t *codes, uint32_t codes_len)
{
    demon_status_t st = check_dev(dev);
    uint32_t j;
    uint32_t w;
    if (st != DEMON_OK) return st;
    if (codes == NULL) return DEMON_E_NULL;
    if (codes_len < dev->info.n) return DEMON_E_SIZE;
    if ((st = capture_refill(dev)) != DEMON_OK) return st;
    /* Channels 0..N-1 in order; the read of the last one removes the entry. */
    for (j = 0; j < dev->info.n; j++) {
        if ((st = rd(dev, DEMON_CAP_DATA_ENTRY(j), &w)) != DEMON_OK) return st;
        codes[j] = from_word(w);
    }
    if (seq != NULL) *seq = dev->cap_seq;
    dev->cap_seq += 1u;
    dev->cap_avail -= 1u;
    return DEMON_OK;
}

demon_status_t demon_capture_peek(demon_dev_t *dev, uint32_t *seq)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (seq == NULL) return DEMON_E_NULL;
    if ((st = capture_refill(dev)) != DEMON_OK) return st;
    *seq = dev->cap_seq;
    return DEMON_OK;
}

demon_status_t demon_capture_discard(demon_dev_t *dev, uint32_t *seq)
{
    demon_status_t st = check_dev(dev);
    uint32_t w;
    if (st != DEMON_OK) return st;
    if ((st = capture_refill(dev)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CAP_DATA_ENTRY(dev->info.n - 1u), &w)) != DEMON_OK) return st;
    if (seq != NULL) *seq = dev->cap_seq;
    dev->cap_seq += 1u;
    dev->cap_avail -= 1u;
    return DEMON_OK;
}
