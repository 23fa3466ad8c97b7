/*
 * An annealing schedule (the fluctuation-frontier paper, section 3), written against the driver
 * only.
 *
 * With the demon closing the loop (digital mode), the force f = b' - A' x makes the stationary
 * law of the array a Gaussian whose precision grows with the loop gain: scaling the coefficients
 * by beta lowers the effective temperature, and as beta grows the samples concentrate at the
 * minimiser of the quadratic energy. Stage k of the schedule runs the loop with
 * beta_k * (A, b):
 *
 *   1. stop the input (CTRL.ENABLE = 0) and wait until the unit is idle (STATUS.BUSY and
 *      OUT_VALID low), so that no word in flight mixes two stages' coefficients; samples offered
 *      meanwhile are refused, neither captured nor numbered;
 *   2. load RND(beta_k * A / 2^16) and RND(beta_k * b / 2^16) (demon_anneal_scale) and start
 *      again (stage 0 clears the counters and the capture FIFO; later stages keep both, so the
 *      sequence numbers run on, and CNT_IN read while stopped is the number the stage's first
 *      sample will carry);
 *   3. remove, unread, what the previous stage left in the FIFO and this stage's first `settle`
 *      samples, then accumulate `stage_samples[k]` consecutive samples: exact sums of
 *      the codes and of their squares; the stage's mean and variance of x = X / 2^(X_BITS-1) are
 *      mean_q30 = RND(S1 * 2^(31-X_BITS) / count) and
 *      var_q30 = RND(S2 * 2^(32-2 X_BITS) / count) - RND(mean_q30^2 / 2^30)   (population variance).
 *
 * Every stage's coefficients are computed and range-checked before the first register access.
 */
#include <stddef.h>

#include "demon_programs.h"
#include "prog_common.h"

/* The longest wait for the unit to go idle after a stop, in demon clock cycles: the word in
 * flight completes within LATENCY cycles and the DAC takes it at once; the margin covers a slow
 * DAC handshake. */
#define IDLE_MARGIN_CYCLES 1024u

demon_status_t demon_anneal_scale(const int32_t *v, uint32_t count, int32_t beta_q16, uint32_t width,
                                  int32_t *out)
{
    int64_t lo;
    int64_t hi;
    uint32_t i;
    if (v == NULL || out == NULL) return DEMON_E_NULL;
    if (width < 2u || width > 32u) return DEMON_E_RANGE;
    hi = ((int64_t)1 << (width - 1u)) - 1;
    lo = -hi - 1;
    for (i = 0; i < count; i++) {
        int64_t s = rnd_shift((int64_t)beta_q16 * (int64_t)v[i], 16u);
        if (s < lo || s > hi) return DEMON_E_RANGE;
        out[i] = (int32_t)s;
    }
    return DEMON_OK;
}

static demon_status_t check_args(demon_dev_t *dev, const demon_anneal_args_t *args, demon_info_t *info)
{
    demon_status_t st = demon_info(dev, info);
    uint32_t k;
    uint64_t total = 0u;
    if (st != DEMON_OK) return st;
    if (args->a == NULL || args->b == NULL || args->beta_q16 == NULL || args->stage_samples == NULL
            || args->work == NULL) {
        return DEMON_E_NULL;
    }
    if (args->n != info->n) return DEMON_E_SIZE;
    if (args->stages < 1u || args->stages > DEMON_ANNEAL_MAX_STAGES) return DEMON_E_SIZE;
    for (k = 0; k < args->stages; k++) {
        if (args->beta_q16[k] <= 0 || args->stage_samples[k] < 1u
                || args->stage_samples[k] > DEMON_ANNEAL_MAX_STAGE_SAMPLES) {
            return DEMON_E_RANGE;
        }
        total += (uint64_t)args->settle + args->stage_samples[k];
        /* every stage's coefficients must fit their formats */
        if ((st = demon_anneal_scale(args->a, info->n * info->n, args->beta_q16[k], info->coef_w, args->work)) != DEMON_OK
                || (st = demon_anneal_scale(args->b, info->n, args->beta_q16[k], info->bias_w,
                                            args->work + info->n * info->n)) != DEMON_OK) {
            return st;
        }
    }
    if (total > UINT32_MAX) return DEMON_E_RANGE;   /* sequence numbers are 32-bit */
    return DEMON_OK;
}

/* Wait for the next captured sample (PROG_PEEK, PROG_DISCARD or PROG_READ, see prog_common.h). */
static demon_status_t take(demon_dev_t *dev, const demon_anneal_args_t *args, demon_anneal_result_t *res, uint32_t what,
                           uint32_t *seq, int32_t *codes)
{
    return prog_take(dev, what, args->idle_cycles, args->timeout_cycles, &res->empty_polls, seq, codes);
}

static demon_status_t run(demon_dev_t *dev, const demon_anneal_args_t *args, demon_anneal_result_t *res,
                          const demon_info_t *info)
{
    demon_status_t st;
    demon_counters_t cnt;
    int32_t codes[DEMON_MAX_N];
    int64_t s1[DEMON_MAX_N];
    int64_t s2[DEMON_MAX_N];
    uint32_t n = info->n;
    uint32_t xb = info->x_bits;
    uint32_t first;           /* sequence number of the stage's first sample (after the restart) */
    uint32_t seq;
    uint32_t k;
    uint32_t i;
    uint32_t j;

    for (k = 0; k < args->stages; k++) {
        int32_t *as = args->work;
        int32_t *bs = args->work + n * n;
        if ((st = demon_stop(dev)) != DEMON_OK) return st;
        if ((st = demon_wait_idle(dev, 4u * info->latency + IDLE_MARGIN_CYCLES)) != DEMON_OK) return st;
        if (k == 0u) {
            first = 0u;                    /* the start below clears the capture numbering */
        } else {
            /* Idle and stopped: CNT_IN is the number of samples accepted since the start, which
             * is the sequence number the next accepted sample will carry. */
            if ((st = demon_read_counters(dev, &cnt)) != DEMON_OK) return st;
            first = cnt.in;
        }
        (void)demon_anneal_scale(args->a, n * n, args->beta_q16[k], info->coef_w, as);   /* checked */
        (void)demon_anneal_scale(args->b, n, args->beta_q16[k], info->bias_w, bs);
        if ((st = demon_load_matrix(dev, as, n, n)) != DEMON_OK) return st;
        if ((st = demon_load_vector(dev, bs, n)) != DEMON_OK) return st;
        if ((st = demon_start(dev, k == 0u ? (DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE) : 0u)) != DEMON_OK) {
            return st;
        }
        /* Remove what the previous stage left in the FIFO and this stage's settling samples. */
        for (;;) {
            if ((st = take(dev, args, res, PROG_PEEK, &seq, NULL)) != DEMON_OK) return st;
            if (seq >= first && seq - first >= args->settle) break;
            if ((st = demon_capture_discard(dev, NULL)) != DEMON_OK) return st;
        }
        for (j = 0; j < n; j++) {
            s1[j] = 0;
            s2[j] = 0;
        }
        for (i = 0; i < args->stage_samples[k]; i++) {
            if ((st = take(dev, args, res, PROG_READ, &seq, codes)) != DEMON_OK) return st;
            if (seq != first + args->settle + i) return DEMON_E_OVERRUN;   /* a sample went missing */
            for (j = 0; j < n; j++) {
                s1[j] += codes[j];
                s2[j] += (int64_t)codes[j] * codes[j];
            }
        }
        res->count[k] = args->stage_samples[k];
        for (j = 0; j < n; j++) {
            int64_t m = mean_q30(s1[j], res->count[k], xb);
            int64_t ex2 = (2u * xb <= 32u)
                ? rnd_div(s2[j] * ((int64_t)1 << (32u - 2u * xb)), (int64_t)res->count[k])
                : rnd_div(s2[j], (int64_t)res->count[k] << (2u * xb - 32u));
            res->mean_q30[k][j] = m;
            res->var_q30[k][j] = ex2 - rnd_shift(m * m, 30u);
        }
    }
    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    return demon_read_counters(dev, &res->counters);
}

demon_status_t demon_anneal(demon_dev_t *dev, const demon_anneal_args_t *args, demon_anneal_result_t *result)
{
    demon_status_t st;
    demon_info_t info;
    uint32_t k;
    uint32_t j;
    if (dev == NULL || args == NULL || result == NULL) return DEMON_E_NULL;
    if ((st = check_args(dev, args, &info)) != DEMON_OK) return st;
    for (k = 0; k < DEMON_ANNEAL_MAX_STAGES; k++) {
        result->count[k] = 0u;
        for (j = 0; j < DEMON_MAX_N; j++) {
            result->mean_q30[k][j] = 0;
            result->var_q30[k][j] = 0;
        }
    }
    result->empty_polls = 0u;
    result->counters.in = result->counters.out = result->counters.drop = result->counters.sat = 0u;
    st = run(dev, args, result, &info);
    if (st != DEMON_OK) {
        (void)demon_stop(dev);
    }
    return st;
}
