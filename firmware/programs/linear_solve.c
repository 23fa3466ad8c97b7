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
