/*
 * demon.h: C99 driver (HAL) for the demon's AXI4-Lite slave (register map: rtl/regmap.yaml, the
 * generated demon_regs.h).
 *
 * Rules every function follows:
 *
 *   - it returns a demon_status_t (DEMON_OK = 0); each declaration below lists every status it
 *     can return;
 *   - it validates every argument first: a NULL pointer (DEMON_E_NULL), a device not initialised
 *     by demon_init (DEMON_E_NOT_READY), a size other than the instance was built with
 *     (DEMON_E_SIZE), a value outside its fixed-point format or legal range (DEMON_E_RANGE), a
 *     call for the force unit the instance lacks (DEMON_E_UNSUPPORTED); on any of these it
 *     returns without a single register access;
 *   - registers are reached only through demon_plat_read32 / demon_plat_write32 (see
 *     demon_platform.h); a bus error stops the function at that access with DEMON_E_BUS;
 *   - it calls no library function and copies no struct by assignment (a struct copy may compile
 *     to a memcpy call): src/demon.c links with -ffreestanding -nostdlib. The driver needs nothing
 *     from libgcc either; the protocol programs (demon_programs.h) divide int64 values, which on
 *     32-bit cores calls libgcc's helpers (__aeabi_ldivmod on Arm, __divdi3 / __moddi3 on rv32):
 *     link them with -lgcc (tests/test_firmware_link.py checks both links).
 *
 * Coefficients are raw fixed-point integers in host order (C row-major arrays), the formats the
 * instance reports: A is Q(COEF_INT, COEF_FRAC), COEF_W = COEF_INT + COEF_FRAC bits, so a raw
 * value must lie in [-2^(COEF_W-1), 2^(COEF_W-1) - 1]; b likewise with BIAS_W. demon_info()
 * gives the widths; demon_coef_range() the bounds. Coefficients, network layers and schedule rows
 * are written only while the unit is stopped and idle (CTRL.ENABLE = 0, STATUS.BUSY = 0): a word
 * in flight would mix old and new values (rtl/README.md, "Coefficient memory"); otherwise the
 * load returns DEMON_E_RUNNING without writing.
 *
 * An instance has one force unit (UNIT.FORCE_UNIT): the linear unit f = b - A x (demon_load_matrix,
 * demon_load_vector) or the score network with its schedule table (demon_load_mlp_layer,
 * demon_load_schedule, demon_step_reset). Calls for the unit the instance lacks return
 * DEMON_E_UNSUPPORTED without a register access.
 *
 * Ownership. A demon_dev_t caches only what never changes (the read-only instance description
 * read by demon_init); every live state (CTRL.ENABLE, the capture FIFO's level, flags and
 * sequence number) is read from the hardware by the call that needs it. So a handle never acts
 * on stale state: a second demon_init on the same device (which empties the FIFO) makes the
 * first handle's next capture read return DEMON_E_EMPTY, never an old sample.
 *
 * The capture FIFO (CAP_STATUS / CAP_SEQ / CAP_DATA) holds the last accepted ADC words with
 * their sequence numbers. Every capture call first reads CAP_STATUS and refuses to touch CAP_DATA
 * when OVERFLOW is set (DEMON_E_OVERRUN: samples were lost), when UNDERFLOW is set
 * (DEMON_E_UNDERFLOW: someone read the FIFO while it was empty, so what a reader holds no longer
 * matches it) or when LEVEL is 0 (DEMON_E_EMPTY); both flags stay set until demon_capture_clear
 * (or demon_clear_errors). One sample costs N + 1 reads (N + 2 with its sequence number, read
 * from CAP_SEQ); demon_capture_drain takes all waiting samples for N per sample + 3. The FIFO has
 * one reader: a main loop and an interrupt handler must not both read it.
 *
 * Time. Waits (demon_wait_idle, and the programs' waits for a sample) are measured with the
 * platform's free-running clock demon_plat_now_cycles, in demon clock cycles.
 */
#ifndef DEMON_H
#define DEMON_H

#include <stdint.h>

#include "demon_platform.h"
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
    DEMON_E_TIMEOUT = 9,      /* a wait lasted more than its timeout (demon clock cycles, demon_plat_now_cycles) */
    DEMON_E_UNSUPPORTED = 10, /* the instance lacks what was asked */
    DEMON_E_RUNNING = 11,     /* refused: the unit is running (CTRL.ENABLE or STATUS.BUSY set) */
    DEMON_E_UNDERFLOW = 12    /* the capture FIFO was read while empty (CAP_STATUS.UNDERFLOW) */
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

/* One demon. Treat as opaque: set up by demon_init, then passed to every call. It holds no live
 * state (see "Ownership" above), so several handles on one device stay consistent. */
typedef struct demon_dev {
    void *plat;              /* platform context: base address (bare metal) or struct demon_host * */
    demon_info_t info;       /* read-only instance description */
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

/* Interrupt sources (IRQ_ENABLE / IRQ_STATUS bits; register map 1.4). */
#define DEMON_IRQ_CAP_LEVEL DEMON_IRQ_STATUS_CAP_LEVEL_MASK        /* FIFO at or above the threshold */
#define DEMON_IRQ_CAP_OVERFLOW DEMON_IRQ_STATUS_CAP_OVERFLOW_MASK  /* FIFO overflow */
#define DEMON_IRQ_IDLE DEMON_IRQ_STATUS_IDLE_MASK                  /* stopped and idle: run done */
#define DEMON_IRQ_COUNTERS DEMON_IRQ_STATUS_COUNTERS_MASK          /* CNT_DROP or CNT_SAT advanced */
#define DEMON_IRQ_BUS_ERROR DEMON_IRQ_STATUS_BUS_ERROR_MASK        /* an access answered SLVERR */
#define DEMON_IRQ_ALL (DEMON_IRQ_CAP_LEVEL | DEMON_IRQ_CAP_OVERFLOW | DEMON_IRQ_IDLE | DEMON_IRQ_COUNTERS \
                       | DEMON_IRQ_BUS_ERROR)
/* The register-map minor version that has the interrupt registers. */
#define DEMON_IRQ_MAP_MINOR 4u

/* demon_start flags. */
#define DEMON_START_CLEAR_COUNTERS 0x1u   /* zero the counters in the same CTRL write */
#define DEMON_START_CLEAR_CAPTURE 0x2u    /* empty the capture FIFO, sequence number from 0 */
#define DEMON_START_STEP_RESET 0x4u       /* schedule step to 0 (score network) */

/* Short name of a status ("DEMON_E_RANGE", "DEMON_E_UNKNOWN" for a value outside the enum);
 * never NULL. */
const char *demon_status_name(demon_status_t status);

/* Bind `dev` to the demon at `plat`, check ID ("DMON") and VERSION (major
 * DEMON_DRIVER_MAP_MAJOR = 1, minor >= DEMON_DRIVER_MAP_MINOR = 2), read the instance's shape,
 * widths, formats, timing and capture depth, then demon_reset.
 * Returns DEMON_OK, DEMON_E_NULL (dev or plat), DEMON_E_ID (wrong ID, an unsupported VERSION, or
 * read-only registers that describe no buildable instance), DEMON_E_BUS. */
demon_status_t demon_init(demon_dev_t *dev, void *plat);

/* Stop the input (CTRL.ENABLE = 0), zero the counters and empty the capture FIFO, in one CTRL
 * write. Coefficients are kept (block RAM has no reset).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_reset(demon_dev_t *dev);

/* The instance's parameters (a copy of what demon_init read; no register access).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY. */
demon_status_t demon_info(const demon_dev_t *dev, demon_info_t *info);

/* Raw bounds of A's (which = 0) or b's (which = 1) format: [*lo, *hi] (no register access).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_RANGE (which > 1),
 * DEMON_E_UNSUPPORTED (which = 0 on a score-network instance). */
demon_status_t demon_coef_range(const demon_dev_t *dev, uint32_t which, int32_t *lo, int32_t *hi);

/* Write matrix A (rows x cols, row-major, raw Q(COEF_INT, COEF_FRAC)) to COEF_A: entry r*N + c,
 * in increasing address order, after reading CTRL and STATUS to check the unit is stopped and
 * idle. rows and cols must both equal N; every value must fit COEF_W.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED (score network),
 * DEMON_E_SIZE, DEMON_E_RANGE, DEMON_E_RUNNING (nothing written), DEMON_E_BUS. */
demon_status_t demon_load_matrix(demon_dev_t *dev, const int32_t *a, uint32_t rows, uint32_t cols);

/* Write vector b (len = N values, raw Q(BIAS_INT, BIAS_FRAC)) to COEF_B, stopped and idle as
 * demon_load_matrix.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_SIZE,
 * DEMON_E_RANGE, DEMON_E_RUNNING, DEMON_E_BUS. */
demon_status_t demon_load_vector(demon_dev_t *dev, const int32_t *b, uint32_t len);

/* Read A / b back (the hardware returns each entry sign-extended from its width).
 * Return DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_SIZE,
 * DEMON_E_BUS. */
demon_status_t demon_read_matrix(demon_dev_t *dev, int32_t *a, uint32_t rows, uint32_t cols);
demon_status_t demon_read_vector(demon_dev_t *dev, int32_t *b, uint32_t len);

/* Score network: the shape of weight layer `layer` (0 .. LAYERS; the last one outputs the N
 * scores): W_layer is rows x cols, with cols = N + E for layer 0 and the previous layer's rows
 * after (no register access).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED (linear instance),
 * DEMON_E_RANGE (layer > LAYERS). */
demon_status_t demon_mlp_layer_shape(const demon_dev_t *dev, uint32_t layer, uint32_t *rows, uint32_t *cols);

/* Score network: write weight layer `layer` (w: rows x cols, row-major, raw Q(WEIGHT_INT,
 * WEIGHT_FRAC)) to MLP_W and its biases (bias: rows values, raw Q(BIAS_INT, BIAS_FRAC)) to MLP_B,
 * at the layer's place in the layer-by-layer layout, weights first, each in increasing address
 * order, stopped and idle as demon_load_matrix. rows and cols must be the layer's
 * (demon_mlp_layer_shape), len == rows.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_RANGE (layer,
 * or a value), DEMON_E_SIZE, DEMON_E_RUNNING, DEMON_E_BUS. */
demon_status_t demon_load_mlp_layer(demon_dev_t *dev, uint32_t layer, const int32_t *w, uint32_t rows,
                                    uint32_t cols, const int32_t *bias, uint32_t len);

/* Read a layer back (the hardware sign-extends every entry).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_RANGE,
 * DEMON_E_SIZE, DEMON_E_BUS. */
demon_status_t demon_read_mlp_layer(demon_dev_t *dev, uint32_t layer, int32_t *w, uint32_t rows, uint32_t cols,
                                    int32_t *bias, uint32_t len);

/* Score network: write the schedule table's first `rows` rows (1..SCHED_LEN) and SCHED_K = rows,
 * stopped and idle as demon_load_matrix.
 * Row k: force_scale[k] = scale[k], raw Q(SCALE_INT, SCALE_FRAC); drift_ctrl[k] = drift[k] and
 * noise_ctrl[k] = noise[k], raw Q(1, CTRL_BITS-1); emb[k][e] = emb[k*emb_per_row + e], raw
 * Q(ACT_INT, ACT_FRAC). emb_per_row must equal the instance's E (emb may be NULL when E = 0).
 * Writes SCHED_SCALE[0..rows-1], then SCHED_DRIFT, SCHED_NOISE, SCHED_EMB (in entry order), then
 * SCHED_K.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_SIZE,
 * DEMON_E_RANGE, DEMON_E_RUNNING, DEMON_E_BUS. */
demon_status_t demon_load_schedule(demon_dev_t *dev, const int32_t *scale, const int32_t *drift,
                                   const int32_t *noise, const int32_t *emb, uint32_t rows, uint32_t emb_per_row);

/* Score network with the table activation (UNIT.ACTIVATION = 2): write the activation table's
 * len = 2^table_bits + 1 entries, raw Q(ACT_INT, table_frac) (emulator/demon/table.py computes
 * them), to ACT_TABLE[0..len-1] in order.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_SIZE, DEMON_E_RANGE,
 * DEMON_E_RUNNING, DEMON_E_BUS. */
demon_status_t demon_load_act_table(demon_dev_t *dev, const int32_t *table, uint32_t len);

/* Score network: the schedule step back to 0 (CTRL.STEP_RESET; CTRL is read first, ENABLE kept).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_BUS. */
demon_status_t demon_step_reset(demon_dev_t *dev);

/* Score network: the step the next accepted sample uses (STEP).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_BUS. */
demon_status_t demon_read_step(demon_dev_t *dev, uint32_t *step);

/* Set CTRL.ENABLE (the input stream is accepted from the next clock), with the DEMON_START_*
 * clears in the same write. flags may only hold DEMON_START_* bits (STEP_RESET: score network
 * only).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_RANGE (unknown flag),
 * DEMON_E_UNSUPPORTED (STEP_RESET on a linear instance), DEMON_E_BUS. */
demon_status_t demon_start(demon_dev_t *dev, uint32_t flags);

/* Clear CTRL.ENABLE: no further sample is accepted; a word in flight still completes
 * (demon_wait_idle waits for it).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_stop(demon_dev_t *dev);

/* Poll STATUS until the unit is idle (BUSY and OUT_VALID low): at least one poll, then until
 * more than timeout_cycles demon clock cycles (demon_plat_now_cycles) have passed since the
 * first. Call after demon_stop: while ENABLE is set the unit may never be idle.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_TIMEOUT, DEMON_E_BUS. */
demon_status_t demon_wait_idle(demon_dev_t *dev, uint32_t timeout_cycles);

/* The platform's free-running clock in demon clock cycles (demon_plat_now_cycles), modulo 2^32:
 * differences of two readings (unsigned subtraction) are elapsed cycles.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY. */
demon_status_t demon_now(demon_dev_t *dev, uint32_t *cycles);

/* Let about `cycles` demon clock cycles pass without a bus access (demon_plat_delay_cycles):
 * the back-off of a polling loop.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY. */
demon_status_t demon_idle(demon_dev_t *dev, uint32_t cycles);

/* Read CTRL, STATUS and CAP_STATUS into *state.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_read_state(demon_dev_t *dev, demon_state_t *state);

/* Read the four counters into *counters (left unchanged on an error).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_read_counters(demon_dev_t *dev, demon_counters_t *counters);

/* Zero the counters (CTRL.CLEAR; CTRL is read first, ENABLE kept).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_clear_counters(demon_dev_t *dev);

/* Empty the capture FIFO, zero its sequence number, clear OVERFLOW and UNDERFLOW (CTRL.CAP_CLEAR;
 * CTRL is read first, ENABLE kept).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_capture_clear(demon_dev_t *dev);

/* Clear every error indication: the counters (CNT_DROP, CNT_SAT, and with them CNT_IN, CNT_OUT)
 * and the capture FIFO's sticky flags (which empties it), in one CTRL write after reading CTRL,
 * ENABLE kept.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_clear_errors(demon_dev_t *dev);

/* Read CAP_STATUS: *level = entries waiting; *overflow, *underflow = the sticky flags. Any of
 * the three pointers may be NULL (not all).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_BUS. */
demon_status_t demon_capture_status(demon_dev_t *dev, uint32_t *level, uint32_t *overflow, uint32_t *underflow);

/* Remove the oldest captured sample and return its N ADC codes in codes[0..N-1] (codes_len >= N)
 * and its sequence number in *seq (seq may be NULL: CAP_SEQ is then not read). Reads CAP_STATUS,
 * CAP_SEQ (if seq), CAP_DATA[0..N-1]; nothing is removed on an error before the last of these.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_SIZE, DEMON_E_EMPTY,
 * DEMON_E_OVERRUN, DEMON_E_UNDERFLOW, DEMON_E_BUS. */
demon_status_t demon_capture_read(demon_dev_t *dev, uint32_t *seq, int32_t *codes, uint32_t codes_len);

/* The sequence number of the oldest captured sample, without removing it (CAP_STATUS, CAP_SEQ).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_EMPTY, DEMON_E_OVERRUN,
 * DEMON_E_UNDERFLOW, DEMON_E_BUS. */
demon_status_t demon_capture_peek(demon_dev_t *dev, uint32_t *seq);

/* Remove the oldest captured sample without reading its codes (CAP_STATUS, CAP_SEQ if seq is not
 * NULL, CAP_DATA[N-1]); *seq gets its sequence number.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_EMPTY, DEMON_E_OVERRUN,
 * DEMON_E_UNDERFLOW, DEMON_E_BUS. */
demon_status_t demon_capture_discard(demon_dev_t *dev, uint32_t *seq);

/* Take every waiting sample, at most max_samples: CAP_STATUS, CAP_SEQ, then N CAP_DATA reads per
 * sample into codes[s*N + j] (codes_len >= max_samples * N), then CAP_STATUS again to check that
 * no read found the FIFO empty (UNDERFLOW) and no sample was lost meanwhile (OVERFLOW). *first_seq
 * gets the first sample's sequence number (the others follow it), *count the samples taken (also
 * on DEMON_E_OVERRUN / DEMON_E_UNDERFLOW from the closing check: they were read, but the caller
 * should not trust the stream past them). Never waits, holds no state in `dev`: safe to call from
 * an interrupt handler when nothing else reads the FIFO.
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_SIZE (max_samples = 0 or >= 2^26,
 * or codes_len < max_samples * N), DEMON_E_EMPTY, DEMON_E_OVERRUN, DEMON_E_UNDERFLOW, DEMON_E_BUS. */
demon_status_t demon_capture_drain(demon_dev_t *dev, uint32_t *first_seq, int32_t *codes, uint32_t codes_len,
                                   uint32_t max_samples, uint32_t *count);

/* ---- Interrupts (register map 1.4; an older instance: DEMON_E_UNSUPPORTED, no access) ---------
 * The demon's irq output is high while IRQ_STATUS & IRQ_ENABLE != 0. A status bit is set at every
 * clock its condition holds and cleared by demon_irq_clear (write 1 to clear), so a handler that
 * drains the FIFO below the threshold and then clears CAP_LEVEL lowers the line. */

/* IRQ_THRESHOLD = threshold (FIFO entries, 1..CAP_DEPTH), then IRQ_ENABLE = mask
 * (DEMON_IRQ_* bits; 0 disables every source).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_RANGE (mask
 * outside DEMON_IRQ_ALL, threshold 0 or above CAP_DEPTH), DEMON_E_BUS. */
demon_status_t demon_irq_config(demon_dev_t *dev, uint32_t mask, uint32_t threshold);

/* IRQ_THRESHOLD alone (1..CAP_DEPTH).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_RANGE, DEMON_E_BUS. */
demon_status_t demon_irq_set_threshold(demon_dev_t *dev, uint32_t threshold);

/* Read IRQ_STATUS into *status (DEMON_IRQ_* bits).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_BUS. */
demon_status_t demon_irq_status(demon_dev_t *dev, uint32_t *status);

/* Clear the IRQ_STATUS bits in mask (one write of mask: write 1 to clear).
 * Returns DEMON_OK, DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED, DEMON_E_RANGE, DEMON_E_BUS. */
demon_status_t demon_irq_clear(demon_dev_t *dev, uint32_t mask);

/* Route the irq line to isr(ctx) (demon_plat_irq_attach; NULL detaches). No register access.
 * The ISR may call the driver (demon_capture_drain, demon_irq_status, demon_irq_clear, ...).
 * Returns DEMON_OK, DEMON_E_NULL (dev), DEMON_E_NOT_READY, DEMON_E_UNSUPPORTED. */
demon_status_t demon_irq_attach(demon_dev_t *dev, demon_isr_fn isr, void *ctx);

/* Sleep until the irq line is high (the ISR runs) or timeout_cycles demon clock cycles have
 * passed (demon_plat_wait_irq). No register access.
 * Returns DEMON_OK (the line was high), DEMON_E_TIMEOUT, DEMON_E_NULL, DEMON_E_NOT_READY,
 * DEMON_E_UNSUPPORTED. */
demon_status_t demon_wait_irq(demon_dev_t *dev, uint32_t timeout_cycles);

#ifdef __cplusplus
}
#endif

#endif /* DEMON_H */
