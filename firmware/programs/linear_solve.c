/*
 * The thermodynamic linear solve (intro note 2.1), written against the driver only.
 *
 * The array with the demon in the loop samples x ~ N(a M^-1 b, a^2 M^-1) in normalised ADC
 * units (the compiler's scale a), so the time average of the captured ADC samples after the
 * burn-in, divided by a, is the solution of M x = b. This program:
 *
 *   1. checks every argument (nothing is written on a bad one);
 *   2. stops the input, loads A and b, starts with the counters and the capture FIFO cleared, so
 *      the capture's sequence number m is the index of the sample since the start;
 *   3. removes samples m < burn_in unread (one bus read each), then adds the codes of samples
 *      burn_in .. burn_in + samples - 1 to exact int64 sums, polling the FIFO and idling while it
 *      is empty;
 *   4. stops the input, reads the counters, and returns mean_q30 = RND(sum * 2^(31-X_BITS) / count)
 *      and x_q16 = SAT(RND(mean_q30 * inv_scale_q16 / 2^30)) (see demon_programs.h).
 */
#include <stddef.h>

#include "demon_programs.h"
#include "prog_common.h"

static demon_status_t check_args(demon_dev_t *dev, const demon_linear_solve_args_t *args)
{
    demon_info_t info;
    int32_t lo;
    int32_t hi;
    uint32_t i;
    demon_status_t st = demon_info(dev, &info);
    if (st != DEMON_OK) return st;
    if (args->a == NULL || args->b == NULL) return DEMON_E_NULL;
    if (args->n != info.n) return DEMON_E_SIZE;
    if (args->samples < 1u || args->samples > DEMON_PROG_MAX_SAMPLES
            || args->burn_in > UINT32_MAX - args->samples || args->inv_scale_q16 <= 0) {
        return DEMON_E_RANGE;
    }
    /* Both arrays checked here, so a bad b does not leave a freshly written A behind. */
    if ((st = demon_coef_range(dev, 0u, &lo, &hi)) != DEMON_OK) return st;
    for (i = 0; i < info.n * info.n; i++) {
        if (args->a[i] < lo || args->a[i] > hi) return DEMON_E_RANGE;
    }
    if ((st = demon_coef_range(dev, 1u, &lo, &hi)) != DEMON_OK) return st;
    for (i = 0; i < info.n; i++) {
        if (args->b[i] < lo || args->b[i] > hi) return DEMON_E_RANGE;
    }
    return DEMON_OK;
}

static demon_status_t run(demon_dev_t *dev, const demon_linear_solve_args_t *args,
                          demon_linear_solve_result_t *res, uint32_t x_bits)
{
    demon_status_t st;
    int32_t codes[DEMON_MAX_N];
    uint32_t n = args->n;
    uint32_t seq;
    uint32_t next = 0u;       /* sequence number of the next sample (the start clears the numbering) */
    uint32_t j;

    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    if ((st = demon_load_matrix(dev, args->a, n, n)) != DEMON_OK) return st;
    if ((st = demon_load_vector(dev, args->b, n)) != DEMON_OK) return st;
    if ((st = demon_start(dev, DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE)) != DEMON_OK) return st;

    while (res->count < args->samples) {
        if (next < args->burn_in) {
            if ((st = prog_take(dev, PROG_DISCARD, args->idle_cycles, args->timeout_cycles, &res->empty_polls, &seq,
                                NULL)) != DEMON_OK) {
                return st;
            }
            if (seq != next) return DEMON_E_OVERRUN;   /* a sample went missing */
            res->discarded += 1u;
        } else {
            if ((st = prog_take(dev, PROG_READ, args->idle_cycles, args->timeout_cycles, &res->empty_polls, &seq,
                                codes)) != DEMON_OK) {
                return st;
            }
            if (seq != next) return DEMON_E_OVERRUN;
            for (j = 0; j < n; j++) {
                res->sum[j] += codes[j];
            }
            res->count += 1u;
        }
        next += 1u;
    }
    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    if ((st = demon_read_counters(dev, &res->counters)) != DEMON_OK) return st;
    for (j = 0; j < n; j++) {
        res->mean_q30[j] = mean_q30(res->sum[j], res->count, x_bits);
        res->x_q16[j] = sat32(rnd_shift(res->mean_q30[j] * (int64_t)args->inv_scale_q16, 30u));
    }
    return DEMON_OK;
}

demon_status_t demon_linear_solve(demon_dev_t *dev, const demon_linear_solve_args_t *args,
                                  demon_linear_solve_result_t *result)
{
    demon_status_t st;
    demon_info_t info;
    uint32_t j;
    if (dev == NULL || args == NULL || result == NULL) return DEMON_E_NULL;
    if ((st = check_args(dev, args)) != DEMON_OK) return st;
    (void)demon_info(dev, &info);
    for (j = 0; j < DEMON_MAX_N; j++) {
        result->x_q16[j] = 0;
        result->mean_q30[j] = 0;
        result->sum[j] = 0;
    }
    result->count = 0u;
    result->discarded = 0u;
    result->empty_polls = 0u;
    result->counters.in = result->counters.out = result->counters.drop = result->counters.sat = 0u;
    st = run(dev, args, result, info.x_bits);
    if (st != DEMON_OK) {
        (void)demon_stop(dev);   /* best effort: the first error is the one reported */
    }
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The interrupt-driven solve: the ISR drains the FIFO, the main loop sleeps
 * ------------------------------------------------------------------------------------------- */

/* Samples one ISR call takes per drain (its buffer lives in the context, not on the ISR's stack). */
#define IRQ_DRAIN_MAX 8u

typedef struct irq_solve {
    demon_dev_t *dev;
    const demon_linear_solve_args_t *args;
    demon_linear_solve_result_t *res;
    uint32_t next;            /* sequence number of the next sample */
    uint32_t total;           /* burn_in + samples */
    uint32_t threshold;       /* IRQ_THRESHOLD as last written */
    uint32_t done;
    demon_status_t status;    /* the first error the ISR met */
    int32_t buf[IRQ_DRAIN_MAX * DEMON_MAX_N];
} irq_solve_t;

/* The ISR: take every waiting sample (discarding the burn-in, summing the rest), lower the
 * threshold to what is still to come, clear CAP_LEVEL (the line falls once the FIFO is below the
 * threshold), and stop listening once every sample is in. */
static void irq_solve_isr(void *ctx)
{
    irq_solve_t *c = (irq_solve_t *)ctx;
    uint32_t n = c->args->n;
    uint32_t first;
    uint32_t got;
    uint32_t i;
    uint32_t j;
    uint32_t st_bits;
    demon_status_t st;
    if (c->done || c->status != DEMON_OK) {
        (void)demon_irq_config(c->dev, 0u, 1u);
        return;
    }
    if ((st = demon_irq_status(c->dev, &st_bits)) != DEMON_OK) {
        c->status = st;
        return;
    }
    if ((st_bits & DEMON_IRQ_CAP_OVERFLOW) != 0u) {
        c->status = DEMON_E_OVERRUN;
        return;
    }
    do {
        st = demon_capture_drain(c->dev, &first, c->buf, IRQ_DRAIN_MAX * DEMON_MAX_N, IRQ_DRAIN_MAX, &got);
        if (st == DEMON_E_EMPTY) break;
        if (st != DEMON_OK) {
            c->status = st;
            return;
        }
        for (i = 0; i < got && c->next < c->total; i++) {
            if (first + i != c->next) {
                c->status = DEMON_E_OVERRUN;    /* a sample went missing */
                return;
            }
            if (c->next < c->args->burn_in) {
                c->res->discarded += 1u;
            } else {
                for (j = 0; j < n; j++) {
                    c->res->sum[j] += c->buf[i * n + j];
                }
                c->res->count += 1u;
            }
            c->next += 1u;
        }
    } while (got == IRQ_DRAIN_MAX && c->next < c->total);
    if (c->next >= c->total) {
        c->done = 1u;
        (void)demon_irq_config(c->dev, 0u, 1u);
    } else if (c->total - c->next < c->threshold) {
        c->threshold = c->total - c->next;
        if ((st = demon_irq_set_threshold(c->dev, c->threshold)) != DEMON_OK) {
            c->status = st;
            return;
        }
    }
    if ((st = demon_irq_clear(c->dev, DEMON_IRQ_CAP_LEVEL)) != DEMON_OK) {
        c->status = st;
    }
}

static demon_status_t run_irq(demon_dev_t *dev, irq_solve_t *c, uint32_t x_bits)
{
    const demon_linear_solve_args_t *args = c->args;
    demon_linear_solve_result_t *res = c->res;
    demon_status_t st;
    uint32_t n = args->n;
    uint32_t slept = 0u;
    uint32_t bits;
    uint32_t j;

    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    if ((st = demon_load_matrix(dev, args->a, n, n)) != DEMON_OK) return st;
    if ((st = demon_load_vector(dev, args->b, n)) != DEMON_OK) return st;
    if ((st = demon_irq_attach(dev, irq_solve_isr, c)) != DEMON_OK) return st;
    if ((st = demon_irq_config(dev, DEMON_IRQ_CAP_LEVEL | DEMON_IRQ_CAP_OVERFLOW, c->threshold)) != DEMON_OK) return st;
    if ((st = demon_irq_clear(dev, DEMON_IRQ_ALL)) != DEMON_OK) return st;
    if ((st = demon_start(dev, DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE)) != DEMON_OK) return st;
    /* Sleep; the ISR does the work. A wake-up without an interrupt looks at IRQ_STATUS once (a
     * bus access: it fails once the platform gives up on us), and counts towards the timeout. */
    while (!c->done && c->status == DEMON_OK) {
        st = demon_wait_irq(dev, args->idle_cycles);
        if (st == DEMON_OK) {
            slept = 0u;
            continue;
        }
        if (st != DEMON_E_TIMEOUT) return st;
        res->empty_polls += 1u;
        if ((st = demon_irq_status(dev, &bits)) != DEMON_OK) return st;
        slept += args->idle_cycles;
        if (args->timeout_cycles != 0u && slept > args->timeout_cycles) return DEMON_E_TIMEOUT;
    }
    (void)demon_irq_attach(dev, NULL, NULL);
    if (c->status != DEMON_OK) return c->status;
    if ((st = demon_irq_config(dev, 0u, 1u)) != DEMON_OK) return st;
    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    if ((st = demon_read_counters(dev, &res->counters)) != DEMON_OK) return st;
    for (j = 0; j < n; j++) {
        res->mean_q30[j] = mean_q30(res->sum[j], res->count, x_bits);
        res->x_q16[j] = sat32(rnd_shift(res->mean_q30[j] * (int64_t)args->inv_scale_q16, 30u));
    }
    return DEMON_OK;
}

demon_status_t demon_linear_solve_irq(demon_dev_t *dev, const demon_linear_solve_args_t *args, uint32_t threshold,
                                      demon_linear_solve_result_t *result)
{
    static irq_solve_t ctx;   /* the ISR's state (one solve at a time); static: no large stack frame */
    demon_status_t st;
    demon_info_t info;
    uint32_t j;
    if (dev == NULL || args == NULL || result == NULL) return DEMON_E_NULL;
    if ((st = check_args(dev, args)) != DEMON_OK) return st;
    (void)demon_info(dev, &info);
    if ((info.version & 0xFFFFu) < DEMON_IRQ_MAP_MINOR) return DEMON_E_UNSUPPORTED;
    if (threshold < 1u || threshold > info.cap_depth) return DEMON_E_RANGE;
    for (j = 0; j < DEMON_MAX_N; j++) {
        result->x_q16[j] = 0;
        result->mean_q30[j] = 0;
        result->sum[j] = 0;
    }
    result->count = 0u;
    result->discarded = 0u;
    result->empty_polls = 0u;
    result->counters.in = result->counters.out = result->counters.drop = result->counters.sat = 0u;
    ctx.dev = dev;
    ctx.args = args;
    ctx.res = result;
    ctx.next = 0u;
    ctx.total = args->burn_in + args->samples;
    ctx.threshold = threshold < ctx.total ? threshold : ctx.total;
    ctx.done = 0u;
    ctx.status = DEMON_OK;
    st = run_irq(dev, &ctx, info.x_bits);
    if (st != DEMON_OK) {
        (void)demon_irq_attach(dev, NULL, NULL);
        (void)demon_irq_config(dev, 0u, 1u);
        (void)demon_stop(dev);
    }
    return st;
}
