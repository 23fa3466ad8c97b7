/*
 * demon.c: the demon driver (see include/demon.h for the contract). C99, no allocation, no
 * library calls, no struct assignment (GCC may lower one to memcpy even with -ffreestanding):
 * it links bare-metal with -nostdlib and builds unchanged for the host.
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

static int width_ok(uint32_t w)
{
    return w >= 2u && w <= 32u;
}

/* The read-only registers describe an instance the RTL can be built as (rtl/README.md). */
static int sane(const demon_info_t *i)
{
    uint32_t l;
    if (i->n < 1u || i->n > DEMON_MAX_N || i->x_bits < 2u || i->x_bits > 24u || !width_ok(i->bias_w)
            || i->cap_depth < 1u) {
        return 0;
    }
    if (i->unit == DEMON_UNIT_LINEAR) {
        return width_ok(i->coef_w);
    }
    if (i->unit != DEMON_UNIT_MLP || i->layers < 1u || i->layers > DEMON_MLP_MAX_LAYERS
            || !width_ok(i->weight_w) || !width_ok(i->scale_w) || i->act_w < 2u || i->act_w > 24u
            || i->ctrl_bits < 2u || i->ctrl_bits > 16u || i->sched_len < 1u) {
        return 0;
    }
    for (l = 0; l < i->layers; l++) {
        if (i->hidden[l] < 1u) return 0;
    }
    return 1;
}

/* Shape of weight layer `layer` of the score network, and where it starts in MLP_W and MLP_B
 * (the layer-by-layer layout of rtl/regmap.yaml). */
static void mlp_layer(const demon_info_t *i, uint32_t layer, uint32_t *rows, uint32_t *cols,
                      uint32_t *w_base, uint32_t *b_base)
{
    uint32_t l;
    uint32_t in = i->n + i->emb;
    uint32_t wb = 0u;
    uint32_t bb = 0u;
    for (l = 0; l < layer; l++) {
        uint32_t out = i->hidden[l];
        wb += out * in;
        bb += out;
        in = out;
    }
    *rows = layer < i->layers ? i->hidden[layer] : i->n;
    *cols = in;
    *w_base = wb;
    *b_base = bb;
}

/* Field by field: a struct assignment may become a call to memcpy. */
static void copy_info(demon_info_t *dst, const demon_info_t *src)
{
    uint32_t l;
    dst->version = src->version;
    dst->n = src->n;
    dst->multipliers = src->multipliers;
    dst->x_bits = src->x_bits;
    dst->f_bits = src->f_bits;
    dst->coef_w = src->coef_w;
    dst->bias_w = src->bias_w;
    dst->coef_frac = src->coef_frac;
    dst->bias_frac = src->bias_frac;
    dst->rounding = src->rounding;
    dst->overflow = src->overflow;
    dst->latency = src->latency;
    dst->ii = src->ii;
    dst->cap_depth = src->cap_depth;
    dst->unit = src->unit;
    dst->activation = src->activation;
    dst->layers = src->layers;
    dst->emb = src->emb;
    for (l = 0; l < DEMON_MLP_MAX_LAYERS; l++) {
        dst->hidden[l] = src->hidden[l];
    }
    dst->weight_w = src->weight_w;
    dst->act_w = src->act_w;
    dst->scale_w = src->scale_w;
    dst->ctrl_bits = src->ctrl_bits;
    dst->weight_frac = src->weight_frac;
    dst->act_frac = src->act_frac;
    dst->scale_frac = src->scale_frac;
    dst->sched_len = src->sched_len;
    dst->table_bits = src->table_bits;
    dst->table_frac = src->table_frac;
}

/* Write CTRL with the self-clearing bits `extra`, keeping ENABLE as the hardware has it now (read
 * first: another handle may have started or stopped the unit). */
static demon_status_t write_ctrl_keep(demon_dev_t *dev, uint32_t extra)
{
    demon_status_t st;
    uint32_t ctrl;
    if ((st = rd(dev, DEMON_CTRL_OFFSET, &ctrl)) != DEMON_OK) return st;
    return wr(dev, DEMON_CTRL_OFFSET, (ctrl & DEMON_CTRL_ENABLE_MASK) | extra);
}

/* Coefficient memories may be written only while the unit is stopped and idle. */
static demon_status_t check_stopped(demon_dev_t *dev)
{
    demon_status_t st;
    uint32_t ctrl;
    uint32_t status;
    if ((st = rd(dev, DEMON_CTRL_OFFSET, &ctrl)) != DEMON_OK) return st;
    if (DEMON_CTRL_ENABLE_GET(ctrl) != 0u) return DEMON_E_RUNNING;
    if ((st = rd(dev, DEMON_STATUS_OFFSET, &status)) != DEMON_OK) return st;
    if (DEMON_STATUS_BUSY_GET(status) != 0u) return DEMON_E_RUNNING;
    return DEMON_OK;
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
    case DEMON_E_RUNNING: return "DEMON_E_RUNNING";
    case DEMON_E_UNDERFLOW: return "DEMON_E_UNDERFLOW";
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
    uint32_t unit;
    uint32_t mshape;
    uint32_t mwidths;
    uint32_t mformat;
    uint32_t sched_len;
    uint32_t table_fmt;
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
    if ((st = rd(dev, DEMON_UNIT_OFFSET, &unit)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_MLP_SHAPE_OFFSET, &mshape)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_MLP_WIDTHS_OFFSET, &mwidths)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_MLP_FORMAT_OFFSET, &mformat)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_SCHED_LEN_OFFSET, &sched_len)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_ACT_TABLE_FMT_OFFSET, &table_fmt)) != DEMON_OK) return st;

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
    info.unit = DEMON_UNIT_FORCE_UNIT_GET(unit);
    info.activation = DEMON_UNIT_ACTIVATION_GET(unit);
    info.layers = DEMON_UNIT_LAYERS_GET(unit);
    info.emb = DEMON_UNIT_EMB_GET(unit);
    info.hidden[0] = DEMON_MLP_SHAPE_HIDDEN1_GET(mshape);
    info.hidden[1] = DEMON_MLP_SHAPE_HIDDEN2_GET(mshape);
    info.hidden[2] = DEMON_MLP_SHAPE_HIDDEN3_GET(mshape);
    info.weight_w = DEMON_MLP_WIDTHS_WEIGHT_W_GET(mwidths);
    info.act_w = DEMON_MLP_WIDTHS_ACT_W_GET(mwidths);
    info.scale_w = DEMON_MLP_WIDTHS_SCALE_W_GET(mwidths);
    info.ctrl_bits = DEMON_MLP_WIDTHS_CTRL_BITS_GET(mwidths);
    info.weight_frac = DEMON_MLP_FORMAT_WEIGHT_FRAC_GET(mformat);
    info.act_frac = DEMON_MLP_FORMAT_ACT_FRAC_GET(mformat);
    info.scale_frac = DEMON_MLP_FORMAT_SCALE_FRAC_GET(mformat);
    info.sched_len = sched_len;
    info.table_bits = DEMON_ACT_TABLE_FMT_BITS_GET(table_fmt);
    info.table_frac = DEMON_ACT_TABLE_FMT_FRAC_GET(table_fmt);
    /* A register file that is not a sane instance of either unit. */
    if (!sane(&info)) {
        return DEMON_E_ID;
    }
    copy_info(&dev->info, &info);
    dev->magic = DEMON_DEV_MAGIC;
    return demon_reset(dev);
}

demon_status_t demon_reset(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return wr(dev, DEMON_CTRL_OFFSET, DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK);
}

demon_status_t demon_info(const demon_dev_t *dev, demon_info_t *info)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (info == NULL) return DEMON_E_NULL;
    copy_info(info, &dev->info);
    return DEMON_OK;
}

demon_status_t demon_coef_range(const demon_dev_t *dev, uint32_t which, int32_t *lo, int32_t *hi)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (lo == NULL || hi == NULL) return DEMON_E_NULL;
    if (which > 1u) return DEMON_E_RANGE;
    if (which == 0u && dev->info.unit != DEMON_UNIT_LINEAR) return DEMON_E_UNSUPPORTED;
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
    if (dev->info.unit != DEMON_UNIT_LINEAR) return DEMON_E_UNSUPPORTED;
    if (a == NULL) return DEMON_E_NULL;
    if (rows != dev->info.n || cols != dev->info.n) return DEMON_E_SIZE;
    count = rows * cols;
    if ((st = check_values(a, count, dev->info.coef_w)) != DEMON_OK) return st;
    if ((st = check_stopped(dev)) != DEMON_OK) return st;
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
    if (dev->info.unit != DEMON_UNIT_LINEAR) return DEMON_E_UNSUPPORTED;
    if (b == NULL) return DEMON_E_NULL;
    if (len != dev->info.n) return DEMON_E_SIZE;
    if ((st = check_values(b, len, dev->info.bias_w)) != DEMON_OK) return st;
    if ((st = check_stopped(dev)) != DEMON_OK) return st;
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
    if (dev->info.unit != DEMON_UNIT_LINEAR) return DEMON_E_UNSUPPORTED;
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
    if (dev->info.unit != DEMON_UNIT_LINEAR) return DEMON_E_UNSUPPORTED;
    if (b == NULL) return DEMON_E_NULL;
    if (len != dev->info.n) return DEMON_E_SIZE;
    for (i = 0; i < len; i++) {
        if ((st = rd(dev, DEMON_COEF_B_ENTRY(i), &w)) != DEMON_OK) return st;
        b[i] = from_word(w);
    }
    return DEMON_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Score network and schedule table
 * ------------------------------------------------------------------------------------------- */

demon_status_t demon_mlp_layer_shape(const demon_dev_t *dev, uint32_t layer, uint32_t *rows, uint32_t *cols)
{
    demon_status_t st = check_dev(dev);
    uint32_t wb;
    uint32_t bb;
    if (st != DEMON_OK) return st;
    if (rows == NULL || cols == NULL) return DEMON_E_NULL;
    if (dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    if (layer > dev->info.layers) return DEMON_E_RANGE;
    mlp_layer(&dev->info, layer, rows, cols, &wb, &bb);
    return DEMON_OK;
}

/* Common checks of a layer access; gives the layer's bases in MLP_W and MLP_B. */
static demon_status_t check_layer(const demon_dev_t *dev, uint32_t layer, const int32_t *w, uint32_t rows,
                                  uint32_t cols, const int32_t *bias, uint32_t len, uint32_t *wb, uint32_t *bb)
{
    demon_status_t st = check_dev(dev);
    uint32_t r;
    uint32_t c;
    if (st != DEMON_OK) return st;
    if (w == NULL || bias == NULL) return DEMON_E_NULL;
    if (dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    if (layer > dev->info.layers) return DEMON_E_RANGE;
    mlp_layer(&dev->info, layer, &r, &c, wb, bb);
    if (rows != r || cols != c || len != r) return DEMON_E_SIZE;
    return DEMON_OK;
}

demon_status_t demon_load_mlp_layer(demon_dev_t *dev, uint32_t layer, const int32_t *w, uint32_t rows,
                                    uint32_t cols, const int32_t *bias, uint32_t len)
{
    uint32_t wb;
    uint32_t bb;
    uint32_t i;
    demon_status_t st = check_layer(dev, layer, w, rows, cols, bias, len, &wb, &bb);
    if (st != DEMON_OK) return st;
    if ((st = check_values(w, rows * cols, dev->info.weight_w)) != DEMON_OK) return st;
    if ((st = check_values(bias, len, dev->info.bias_w)) != DEMON_OK) return st;
    if ((st = check_stopped(dev)) != DEMON_OK) return st;
    for (i = 0; i < rows * cols; i++) {
        if ((st = wr(dev, DEMON_MLP_W_ENTRY(wb + i), to_word(w[i]))) != DEMON_OK) return st;
    }
    for (i = 0; i < len; i++) {
        if ((st = wr(dev, DEMON_MLP_B_ENTRY(bb + i), to_word(bias[i]))) != DEMON_OK) return st;
    }
    return DEMON_OK;
}

demon_status_t demon_read_mlp_layer(demon_dev_t *dev, uint32_t layer, int32_t *w, uint32_t rows, uint32_t cols,
                                    int32_t *bias, uint32_t len)
{
    uint32_t wb;
    uint32_t bb;
    uint32_t i;
    uint32_t v;
    demon_status_t st = check_layer(dev, layer, w, rows, cols, bias, len, &wb, &bb);
    if (st != DEMON_OK) return st;
    for (i = 0; i < rows * cols; i++) {
        if ((st = rd(dev, DEMON_MLP_W_ENTRY(wb + i), &v)) != DEMON_OK) return st;
        w[i] = from_word(v);
    }
    for (i = 0; i < len; i++) {
        if ((st = rd(dev, DEMON_MLP_B_ENTRY(bb + i), &v)) != DEMON_OK) return st;
        bias[i] = from_word(v);
    }
    return DEMON_OK;
}

demon_status_t demon_load_schedule(demon_dev_t *dev, const int32_t *scale, const int32_t *drift,
                                   const int32_t *noise, const int32_t *emb, uint32_t rows, uint32_t emb_per_row)
{
    demon_status_t st = check_dev(dev);
    uint32_t k;
    uint32_t e;
    if (st != DEMON_OK) return st;
    if (scale == NULL || drift == NULL || noise == NULL) return DEMON_E_NULL;
    if (dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    e = dev->info.emb;
    if (emb == NULL && e != 0u) return DEMON_E_NULL;
    if (rows < 1u || rows > dev->info.sched_len || emb_per_row != e) return DEMON_E_SIZE;
    if ((st = check_values(scale, rows, dev->info.scale_w)) != DEMON_OK) return st;
    if ((st = check_values(drift, rows, dev->info.ctrl_bits)) != DEMON_OK) return st;
    if ((st = check_values(noise, rows, dev->info.ctrl_bits)) != DEMON_OK) return st;
    if (e != 0u && (st = check_values(emb, rows * e, dev->info.act_w)) != DEMON_OK) return st;
    if ((st = check_stopped(dev)) != DEMON_OK) return st;
    for (k = 0; k < rows; k++) {
        if ((st = wr(dev, DEMON_SCHED_SCALE_ENTRY(k), to_word(scale[k]))) != DEMON_OK) return st;
    }
    for (k = 0; k < rows; k++) {
        if ((st = wr(dev, DEMON_SCHED_DRIFT_ENTRY(k), to_word(drift[k]))) != DEMON_OK) return st;
    }
    for (k = 0; k < rows; k++) {
        if ((st = wr(dev, DEMON_SCHED_NOISE_ENTRY(k), to_word(noise[k]))) != DEMON_OK) return st;
    }
    for (k = 0; k < rows * e; k++) {
        if ((st = wr(dev, DEMON_SCHED_EMB_ENTRY(k), to_word(emb[k]))) != DEMON_OK) return st;
    }
    return wr(dev, DEMON_SCHED_K_OFFSET, rows);
}

demon_status_t demon_load_act_table(demon_dev_t *dev, const int32_t *table, uint32_t len)
{
    demon_status_t st = check_dev(dev);
    uint32_t i;
    if (st != DEMON_OK) return st;
    if (table == NULL) return DEMON_E_NULL;
    if (dev->info.unit != DEMON_UNIT_MLP || dev->info.activation != 2u || dev->info.table_bits == 0u) {
        return DEMON_E_UNSUPPORTED;
    }
    if (len != (1u << dev->info.table_bits) + 1u) return DEMON_E_SIZE;
    if ((st = check_values(table, len, dev->info.act_w - dev->info.act_frac + dev->info.table_frac)) != DEMON_OK) {
        return st;
    }
    if ((st = check_stopped(dev)) != DEMON_OK) return st;
    for (i = 0; i < len; i++) {
        if ((st = wr(dev, DEMON_ACT_TABLE_ENTRY(i), to_word(table[i]))) != DEMON_OK) return st;
    }
    return DEMON_OK;
}

demon_status_t demon_step_reset(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    return write_ctrl_keep(dev, DEMON_CTRL_STEP_RESET_MASK);
}

demon_status_t demon_read_step(demon_dev_t *dev, uint32_t *step)
{
    demon_status_t st = check_dev(dev);
    uint32_t v;
    if (st != DEMON_OK) return st;
    if (step == NULL) return DEMON_E_NULL;
    if (dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    if ((st = rd(dev, DEMON_STEP_OFFSET, &v)) != DEMON_OK) return st;
    *step = v & 0xFFFFu;
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
    if ((flags & ~(DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE | DEMON_START_STEP_RESET)) != 0u) {
        return DEMON_E_RANGE;
    }
    if ((flags & DEMON_START_STEP_RESET) && dev->info.unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    if (flags & DEMON_START_STEP_RESET) extra |= DEMON_CTRL_STEP_RESET_MASK;
    if (flags & DEMON_START_CLEAR_COUNTERS) extra |= DEMON_CTRL_CLEAR_MASK;
    if (flags & DEMON_START_CLEAR_CAPTURE) extra |= DEMON_CTRL_CAP_CLEAR_MASK;
    return wr(dev, DEMON_CTRL_OFFSET, DEMON_CTRL_ENABLE_MASK | extra);
}

demon_status_t demon_stop(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return wr(dev, DEMON_CTRL_OFFSET, 0u);
}

demon_status_t demon_wait_idle(demon_dev_t *dev, uint32_t timeout_cycles)
{
    demon_status_t st = check_dev(dev);
    uint32_t status;
    uint32_t t0;
    if (st != DEMON_OK) return st;
    t0 = demon_plat_now_cycles(dev->plat);
    for (;;) {
        if ((st = rd(dev, DEMON_STATUS_OFFSET, &status)) != DEMON_OK) return st;
        if (DEMON_STATUS_BUSY_GET(status) == 0u && DEMON_STATUS_OUT_VALID_GET(status) == 0u) {
            return DEMON_OK;
        }
        if (demon_plat_now_cycles(dev->plat) - t0 > timeout_cycles) {
            return DEMON_E_TIMEOUT;
        }
    }
}

demon_status_t demon_now(demon_dev_t *dev, uint32_t *cycles)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (cycles == NULL) return DEMON_E_NULL;
    *cycles = demon_plat_now_cycles(dev->plat);
    return DEMON_OK;
}

demon_status_t demon_idle(demon_dev_t *dev, uint32_t cycles)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    demon_plat_delay_cycles(dev->plat, cycles);
    return DEMON_OK;
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
    counters->in = c.in;          /* field by field: no struct assignment (memcpy) */
    counters->out = c.out;
    counters->drop = c.drop;
    counters->sat = c.sat;
    return DEMON_OK;
}

demon_status_t demon_clear_counters(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return write_ctrl_keep(dev, DEMON_CTRL_CLEAR_MASK);
}

demon_status_t demon_capture_clear(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return write_ctrl_keep(dev, DEMON_CTRL_CAP_CLEAR_MASK);
}

demon_status_t demon_clear_errors(demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    return write_ctrl_keep(dev, DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK);
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

/* The check that opens every capture call: CAP_STATUS (OVERFLOW, UNDERFLOW, LEVEL), then CAP_SEQ
 * if `seq` is wanted. *level (may be NULL) gets LEVEL. */
static demon_status_t capture_head(demon_dev_t *dev, uint32_t *seq, uint32_t *level)
{
    demon_status_t st;
    uint32_t cap;
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &cap)) != DEMON_OK) return st;
    if (DEMON_CAP_STATUS_OVERFLOW_GET(cap) != 0u) return DEMON_E_OVERRUN;
    if (DEMON_CAP_STATUS_UNDERFLOW_GET(cap) != 0u) return DEMON_E_UNDERFLOW;
    if (DEMON_CAP_STATUS_LEVEL_GET(cap) == 0u) return DEMON_E_EMPTY;
    if (level != NULL) *level = DEMON_CAP_STATUS_LEVEL_GET(cap);
    if (seq != NULL) {
        if ((st = rd(dev, DEMON_CAP_SEQ_OFFSET, seq)) != DEMON_OK) return st;
    }
    return DEMON_OK;
}

/* N reads of the head entry's channels, in order; the last removes it. */
static demon_status_t capture_pop(demon_dev_t *dev, int32_t *codes)
{
    demon_status_t st;
    uint32_t j;
    uint32_t w;
    for (j = 0; j < dev->info.n; j++) {
        if ((st = rd(dev, DEMON_CAP_DATA_ENTRY(j), &w)) != DEMON_OK) return st;
        codes[j] = from_word(w);
    }
    return DEMON_OK;
}

demon_status_t demon_capture_read(demon_dev_t *dev, uint32_t *seq, int32_t *codes, uint32_t codes_len)
{
    demon_status_t st = check_dev(dev);
    uint32_t s;
    if (st != DEMON_OK) return st;
    if (codes == NULL) return DEMON_E_NULL;
    if (codes_len < dev->info.n) return DEMON_E_SIZE;
    if ((st = capture_head(dev, seq != NULL ? &s : NULL, NULL)) != DEMON_OK) return st;
    if ((st = capture_pop(dev, codes)) != DEMON_OK) return st;
    if (seq != NULL) *seq = s;
    return DEMON_OK;
}

demon_status_t demon_capture_peek(demon_dev_t *dev, uint32_t *seq)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if (seq == NULL) return DEMON_E_NULL;
    return capture_head(dev, seq, NULL);
}

demon_status_t demon_capture_discard(demon_dev_t *dev, uint32_t *seq)
{
    demon_status_t st = check_dev(dev);
    uint32_t s;
    uint32_t w;
    if (st != DEMON_OK) return st;
    if ((st = capture_head(dev, seq != NULL ? &s : NULL, NULL)) != DEMON_OK) return st;
    if ((st = rd(dev, DEMON_CAP_DATA_ENTRY(dev->info.n - 1u), &w)) != DEMON_OK) return st;
    if (seq != NULL) *seq = s;
    return DEMON_OK;
}

demon_status_t demon_capture_drain(demon_dev_t *dev, uint32_t *first_seq, int32_t *codes, uint32_t codes_len,
                                   uint32_t max_samples, uint32_t *count)
{
    demon_status_t st = check_dev(dev);
    uint32_t level;
    uint32_t take;
    uint32_t k;
    if (st != DEMON_OK) return st;
    if (first_seq == NULL || codes == NULL || count == NULL) return DEMON_E_NULL;
    /* max_samples * N <= codes_len without a division (no libgcc call on cores without one):
     * below 2^26 samples the product of at most 64 channels fits 32 bits */
    if (max_samples == 0u || max_samples >= (1u << 26) || max_samples * dev->info.n > codes_len) return DEMON_E_SIZE;
    *count = 0u;
    if ((st = capture_head(dev, first_seq, &level)) != DEMON_OK) return st;
    take = level < max_samples ? level : max_samples;
    for (k = 0; k < take; k++) {
        if ((st = capture_pop(dev, codes + k * dev->info.n)) != DEMON_OK) return st;
        *count = k + 1u;
    }
    /* The closing check: no read found the FIFO empty, no sample was lost while we read. */
    if ((st = rd(dev, DEMON_CAP_STATUS_OFFSET, &level)) != DEMON_OK) return st;
    if (DEMON_CAP_STATUS_OVERFLOW_GET(level) != 0u) return DEMON_E_OVERRUN;
    if (DEMON_CAP_STATUS_UNDERFLOW_GET(level) != 0u) return DEMON_E_UNDERFLOW;
    return DEMON_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Interrupts
 * ------------------------------------------------------------------------------------------- */

/* Common entry check of the interrupt calls: the instance has the registers (map 1.3). */
static demon_status_t check_irq(const demon_dev_t *dev)
{
    demon_status_t st = check_dev(dev);
    if (st != DEMON_OK) return st;
    if ((dev->info.version & 0xFFFFu) < DEMON_IRQ_MAP_MINOR) return DEMON_E_UNSUPPORTED;
    return DEMON_OK;
}

demon_status_t demon_irq_config(demon_dev_t *dev, uint32_t mask, uint32_t threshold)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    if ((mask & ~DEMON_IRQ_ALL) != 0u || threshold < 1u || threshold > dev->info.cap_depth) return DEMON_E_RANGE;
    if ((st = wr(dev, DEMON_IRQ_THRESHOLD_OFFSET, threshold)) != DEMON_OK) return st;
    return wr(dev, DEMON_IRQ_ENABLE_OFFSET, mask);
}

demon_status_t demon_irq_set_threshold(demon_dev_t *dev, uint32_t threshold)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    if (threshold < 1u || threshold > dev->info.cap_depth) return DEMON_E_RANGE;
    return wr(dev, DEMON_IRQ_THRESHOLD_OFFSET, threshold);
}

demon_status_t demon_irq_status(demon_dev_t *dev, uint32_t *status)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    if (status == NULL) return DEMON_E_NULL;
    return rd(dev, DEMON_IRQ_STATUS_OFFSET, status);
}

demon_status_t demon_irq_clear(demon_dev_t *dev, uint32_t mask)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    if ((mask & ~DEMON_IRQ_ALL) != 0u) return DEMON_E_RANGE;
    return wr(dev, DEMON_IRQ_STATUS_OFFSET, mask);
}

demon_status_t demon_irq_attach(demon_dev_t *dev, demon_isr_fn isr, void *ctx)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    demon_plat_irq_attach(dev->plat, isr, ctx);
    return DEMON_OK;
}

demon_status_t demon_wait_irq(demon_dev_t *dev, uint32_t timeout_cycles)
{
    demon_status_t st = check_irq(dev);
    if (st != DEMON_OK) return st;
    return demon_plat_wait_irq(dev->plat, timeout_cycles) ? DEMON_OK : DEMON_E_TIMEOUT;
}
