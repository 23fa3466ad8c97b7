/*
 * demon.h: C99 driver (HAL) for the demon's AXI4-Lite slave (register map: rtl/regmap.yaml, the
 * generated demon_regs.h).
 *
 * Rules every function follows:
 *
 *   - it returns a demon_status_t (DEMON_OK = 0);
 *   - it validates every argument first: a NULL pointer (DEMON_E_NULL), a device not initialised
 *     by demon_init (DEMON_E_NOT_READY), a size other than the instance was built with
 *     (DEMON_E_SIZE), a value outside its fixed-point format or legal range (DEMON_E_RANGE); on
 *     any of these it returns without a single register access;
 *   - registers are reached only through demon_plat_read32 / demon_plat_write32 (see
 *     demon_platform.h); a bus error stops the function at that access with DEMON_E_BUS.
 *
 * Coefficients are raw fixed-point integers in host order (C row-major arrays), the formats the
 * instance reports: A is Q(COEF_INT, COEF_FRAC), COEF_W = COEF_INT + COEF_FRAC bits, so a raw
 * value must lie in [-2^(COEF_W-1), 2^(COEF_W-1) - 1]; b likewise with BIAS_W. demon_info()
 * gives the widths; demon_coef_range() the bounds.
 *
 * An instance has one force unit (UNIT.FORCE_UNIT): the linear unit f = b - A x (demon_load_matrix,
 * demon_load_vector) or the score network with its schedule table (demon_load_mlp_layer,
 * demon_load_schedule, demon_step_reset). Calls for the unit the instance lacks return
 * DEMON_E_UNSUPPORTED without a register access.
 *
 * The capture FIFO (CAP_STATUS / CAP_SEQ / CAP_DATA) holds the last accepted ADC words with
 * their sequence numbers. demon_capture_read never reads an empty FIFO: it keeps the count of
 * entries it knows are waiting and polls CAP_STATUS (and CAP_SEQ, once) only when that count runs
 * out, so one sample costs N reads in steady state. Sequence numbers of the entries it returns are
 * exact: while CAP_STATUS.OVERFLOW is clear no sample was lost, so the entries present at a poll
 * are consecutive from CAP_SEQ; once OVERFLOW is set, demon_capture_read returns DEMON_E_OVERRUN
 * until demon_capture_clear (or demon_clear_errors).
 */
#ifndef DEMON_H
#define DEMON_H

#include <stdint.h>

#include "demon_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest channel count of any instance (SHAPE.N <= 64; COEF_B and CAP_DATA have 64 entries). */
#define DEMON_MAX_N 64u
/* Register-map version this driver is written against: major must match, minor at least this. */
#define DEMON_DRIVER_MAP_MAJOR 1u
#define DEMON_DRIVER_MAP_MINOR 2u
/* UNIT.FORCE_UNIT values. */
#define DEMON_UNIT_LINEAR 0u
#define DEMON_UNIT_MLP 1u
/* Most hidden layers of the score network (its weight layers are LAYERS + 1). */
#define DEMON_MLP_MAX_LAYERS 3u

typedef enum demon_status {
    DEMON_OK = 0,
    DEMON_E_NULL = 1,         /* a required pointer argument is NULL */
    DEMON_E_NOT_READY = 2,    /* the device was not initialised by demon_init */
    DEMON_E_SIZE = 3,         /* a size differs from (or exceeds) what the instance was built with */
    DEMON_E_RANGE = 4,        /* a value lies outside its fixed-point format or legal range */
    DEMON_E_ID = 5,           /* ID or VERSION is not a demon this driver supports */
    DEMON_E_BUS = 6,          /* the platform reported a bus error */
    DEMON_E_EMPTY = 7,        /* the capture FIFO holds no sample */
    DEMON_E_OVERRUN = 8,      /* the capture FIFO lost samples (CAP_STATUS.OVERFLOW) */
    DEMON_E_TIMEOUT = 9,      /* a program waited longer than its limit */
    DEMON_E_UNSUPPORTED = 10  /* the instance lacks what was asked */
} demon_status_t;

/* What the instance was built with (read once by demon_init from the read-only registers). */
typedef struct demon_info {
    uint32_t version;        /* VERSION: major [31:16], minor [15:0] */
    uint32_t n;              /* SHAPE.N: channels */
    uint32_t multipliers;    /* SHAPE.MULTIPLIERS */
    uint32_t x_bits;         /* WIDTHS.X_BITS: ADC code width, x is Q(1, X_BITS-1) */
    uint32_t f_bits;         /* WIDTHS.F_BITS: DAC code width */
    uint32_t coef_w;         /* WIDTHS.COEF_W: raw width of A */
    uint32_t bias_w;         /* WIDTHS.BIAS_W: raw width of b */
    uint32_t coef_frac;      /* FORMAT.COEF_FRAC */
    uint32_t bias_frac;      /* FORMAT.BIAS_FRAC */
    uint32_t rounding;       /* FORMAT.ROUNDING: 0 TRN, 1 RND, 2 RND_CONV */
    uint32_t overflow;       /* FORMAT.OVERFLOW: 0 SAT, 1 WRAP */
    uint32_t latency;        /* TIMING.LATENCY, cycles */
    uint32_t ii;             /* TIMING.II, cycles */
    uint32_t cap_depth;      /* CAP_STATUS.DEPTH, samples */
    uint32_t unit;           /* UNIT.FORCE_UNIT: DEMON_UNIT_LINEAR or DEMON_UNIT_MLP */
    /* the score network (0 in a linear instance) */
    uint32_t activation;     /* UNIT.ACTIVATION: 0 ReLU, 1 hard-tanh, 2 table (ACT_TABLE) */
    uint32_t layers;         /* UNIT.LAYERS: hidden layers, 1..3 */
    uint32_t emb;            /* UNIT.EMB: time-embedding inputs per schedule row E */
    uint32_t hidden[DEMON_MLP_MAX_LAYERS];   /* MLP_SHAPE.HIDDEN1..3 */
    uint32_t weight_w;       /* MLP_WIDTHS.WEIGHT_W */
    uint32_t act_w;          /* MLP_WIDTHS.ACT_W (embedding entries) */
    uint32_t scale_w;        /* MLP_WIDTHS.SCALE_W (force_scale entries) */
    uint32_t ctrl_bits;      /* MLP_WIDTHS.CTRL_BITS (drift and noise entries) */
    uint32_t weight_frac;    /* MLP_FORMAT.WEIGHT_FRAC */
    uint32_t act_frac;       /* MLP_FORMAT.ACT_FRAC */
    uint32_t scale_frac;     /* MLP_FORMAT.SCALE_FRAC */
    uint32_t sched_len;      /* SCHED_LEN: schedule table capacity in rows */
    uint32_t table_bits;     /* ACT_TABLE_FMT.BITS: the table has 2^table_bits + 1 entries (0: none) */
    uint32_t table_frac;     /* ACT_TABLE_FMT.FRAC: entries are Q(ACT_INT, table_frac) */
} demon_info_t;

/* One demon. Treat as opaque: set up by demon_init, then passed to every call. */
typedef struct demon_dev {
    void *plat;              /* platform context: base address (bare metal) or struct demon_host * */
    demon_info_t info;
    uint32_t ctrl;           /* CTRL.ENABLE as last written (the CLEAR bits are self-clearing) */
    uint32_t cap_avail;      /* capture entries known to be waiting */
    uint32_t cap_seq;        /* sequence number of the next entry demon_capture_read returns */
    uint32_t magic;          /* DEMON_DEV_MAGIC once initialised */
} demon_dev_t;

/* Live status (STATUS, CTRL and CAP_STATUS). */
typedef struct demon_state {
    uint32_t enabled;        /* CTRL.ENABLE */
    uint32_t busy;           /* STATUS.BUSY */
    uint32_t out_valid;      /* STATUS.OUT_VALID */
    uint32_t in_ready;       /* STATUS.IN_READY */
    uint32_t cap_level;      /* CAP_STATUS.LEVEL */
    uint32_t cap_overflow;   /* CAP_STATUS.OVERFLOW (sticky) */
    uint32_t cap_underflow;  /* CAP_STATUS.UNDERFLOW (sticky) */
} demon_state_t;

/* The four event counters (saturating at 0xFFFFFFFF). */
typedef struct demon_counters {
    uint32_t in;             /* CNT_IN: samples accepted */
    uint32_t out;            /* CNT_OUT: words delivered to the DAC */
    uint32_t drop;           /* CNT_DROP: cycles with a sample refused while enabled */
    uint32_t sat;            /* CNT_SAT: output values that overflowed their format */
} demon_counters_t;

/* demon_start flags. */
#define DEMON_START_CLEAR_COUNTERS 0x1u   /* zero the counters in the same CTRL write */
#define DEMON_START_CLEAR_CAPTURE 0x2u    /* empty the capture FIFO, sequence number from 0 */
#define DEMON_START_STEP_RESET 0x4u       /* schedule step to 0 (score network) */

/* Short name of a status ("DEMON_E_RANGE"); never NULL. */
const char *demon_status_name(demon_status_t status);

/* Bind `dev` to the demon at `plat`, check ID ("DMON") and VERSION (major 1, minor >= 1), read
 * the instance's shape, widths, formats, timing and capture depth, then demon_reset. */
demon_status_t demon_init(demon_dev_t *dev, void *plat);

/* Stop the input (CTRL.ENABLE = 0), zero the counters and empty the capture FIFO, in one CTRL
 * write. Coefficients are kept (block RAM has no reset). */
demon_status_t demon_reset(demon_dev_t *dev);

/* The instance's parameters (a copy of what demon_init read). */
demon_status_t demon_info(const demon_dev_t *dev, demon_info_t *info);

/* Raw bounds of A's (which = 0) or b's (which = 1) format: [*lo, *hi]. */
demon_status_t demon_coef_range(const demon_dev_t *dev, uint32_t which, int32_t *lo, int32_t *hi);

/* Write matrix A (rows x cols, row-major, raw Q(COEF_INT, COEF_FRAC)) to COEF_A: entry r*N + c,
 * in increasing address order. rows and cols must both equal N; every value must fit COEF_W. */
demon_status_t demon_load_matrix(demon_dev_t *dev, const int32_t *a, uint32_t rows, uint32_t cols);

/* Write vector b (len = N values, raw Q(BIAS_INT, BIAS_FRAC)) to COEF_B. */
demon_status_t demon_load_vector(demon_dev_t *dev, const int32_t *b, uint32_t len);

/* Read A / b back (the hardware returns each entry sign-extended from its width). */
demon_status_t demon_read_matrix(demon_dev_t *dev, int32_t *a, uint32_t rows, uint32_t cols);
demon_status_t demon_read_vector(demon_dev_t *dev, int32_t *b, uint32_t len);

/* Score network: the shape of weight layer `layer` (0 .. LAYERS; the last one outputs the N
 * scores): W_layer is rows x cols, with cols = N + E for layer 0 and the previous layer's rows
 * after. */
demon_status_t demon_mlp_layer_shape(const demon_dev_t *dev, uint32_t layer, uint32_t *rows, uint32_t *cols);

/* Score network: write weight layer `layer` (w: rows x cols, row-major, raw Q(WEIGHT_INT,
 * WEIGHT_FRAC)) to MLP_W and its biases (bias: rows values, raw Q(BIAS_INT, BIAS_FRAC)) to MLP_B,
 * at the layer's place in the layer-by-layer layout, weights first, each in increasing address
 * order. rows and cols must be the layer's (demon_mlp_layer_shape), len == rows. */
demon_status_t demon_load_mlp_layer(demon_dev_t *dev, uint32_t layer, const int32_t *w, uint32_t rows,
                                    uint32_t cols, const int32_t *bias, uint32_t len);

/* Read a layer back (the hardware sign-extends every entry). */
demon_status_t demon_read_mlp_layer(demon_dev_t *dev, uint32_t layer, int32_t *w, uint32_t rows, uint32_t cols,
                                    int32_t *bias, uint32_t len);

/* Score network: write the schedule table's first `rows` rows (1..SCHED_LEN) and SCHED_K = rows.
 * Row k: force_scale[k] = scale[k], raw Q(SCALE_INT, SCALE_FRAC); drift_ctrl[k] = drift[k] and
 * noise_ctrl[k] = noise[k], raw Q(1, CTRL_BITS-1); emb[k][e] = emb[k*emb_per_row + e], raw
 * Q(ACT_INT, ACT_FRAC). emb_per_row must equal the instance's E (emb may be NULL when E = 0).
 * Writes SCHED_SCALE[0..rows-1], then SCHED_DRIFT, SCHED_NOISE, SCHED_EMB (in entry order), then
 * SCHED_K. */
demon_status_t demon_load_schedule(demon_dev_t *dev, const int32_t *scale, const int32_t *drift,
                                   const int32_t *noise, const int32_t *emb, uint32_t rows, uint32_t emb_per_row);

/* Score network with the table activation (UNIT.ACTIVATION = 2): write the activation table's
 * len = 2^table_bits + 1 entries, raw Q(ACT_INT, table_frac) (emulator/demon/table.py computes
 * them), to ACT_TABLE[0..len-1] in order. */
demon_status_t demon_load_act_table(demon_dev_t *dev, const int32_t *table, uint32_t len);

/* Score network: the schedule step back to 0 (CTRL.STEP_RESET), ENABLE kept. */
demon_status_t demon_step_reset(demon_dev_t *dev);

/* Score network: the step the next accepted sample uses (STEP). */
demon_status_t demon_read_step(demon_dev_t *dev, uint32_t *step);

/* Set CTRL.ENABLE (the input stream is accepted from the next clock), with the DEMON_START_*
 * clears in the same write. flags may only hold DEMON_START_* bits (STEP_RESET: score network
 * only). */
demon_status_t demon_start(demon_dev_t *dev, uint32_t flags);

/* Clear CTRL.ENABLE: no further sample is accepted; a word in flight still completes. */
demon_status_t demon_stop(demon_dev_t *dev);

demon_status_t demon_read_state(demon_dev_t *dev, demon_state_t *state);
demon_status_t demon_read_counters(demon_dev_t *dev, demon_counters_t *counters);

/* Zero the counters (CTRL.CLEAR), ENABLE kept. */
demon_status_t demon_clear_counters(demon_dev_t *dev);

/* Empty the capture FIFO, zero its sequence number, clear OVERFLOW and UNDERFLOW (CTRL.CAP_CLEAR),
 * ENABLE kept. */
demon_status_t demon_capture_clear(demon_dev_t *dev);

/* Clear every error indication: the counters (CNT_DROP, CNT_SAT, and with them CNT_IN, CNT_OUT)
 * and the capture FIFO's sticky flags (which empties it), in one CTRL write, ENABLE kept. */
demon_status_t demon_clear_errors(demon_dev_t *dev);

/* Read CAP_STATUS: *level = entries waiting; *overflow, *underflow = the sticky flags. Any of
 * the three pointers may be NULL (not all). */
demon_status_t demon_capture_status(demon_dev_t *dev, uint32_t *level, uint32_t *overflow, uint32_t *underflow);

/* Remove the oldest captured sample and return its N ADC codes in codes[0..N-1] (codes_len >= N)
 * and its sequence number in *seq (seq may be NULL). DEMON_E_EMPTY when no sample waits,
 * DEMON_E_OVERRUN when samples were lost (nothing is removed then). */
demon_status_t demon_capture_read(demon_dev_t *dev, uint32_t *seq, int32_t *codes, uint32_t codes_len);

/* The sequence number of the oldest captured sample, without removing it (polls CAP_STATUS
 * only if no entry is known to wait). Same errors as demon_capture_read. */
demon_status_t demon_capture_peek(demon_dev_t *dev, uint32_t *seq);

/* Remove the oldest captured sample without reading its codes (one bus read); *seq (may be NULL)
 * gets its sequence number. Same errors as demon_capture_read. */
demon_status_t demon_capture_discard(demon_dev_t *dev, uint32_t *seq);

#ifdef __cplusplus
}
#endif

#endif /* DEMON_H */
