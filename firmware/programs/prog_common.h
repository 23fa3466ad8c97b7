/*
 * prog_common.h: fixed-point helpers shared by the protocol programs (internal, C99).
 *
 * C99 leaves the right shift of a negative value implementation-defined and rounds division
 * towards zero, so the named roundings are spelled out here on int64 values:
 *   floor_div   TRN: floor(p / q), q > 0
 *   rnd_div     RND: floor(p / q + 1/2), q > 0
 *   rnd_shift   RND: floor(p / 2^k + 1/2), 1 <= k <= 62
 *   sat32       SAT to the int32 range
 */
#ifndef DEMON_PROG_COMMON_H
#define DEMON_PROG_COMMON_H

#include <stdint.h>

#include "demon.h"
#include "demon_platform.h"

/* Wait for the next captured sample (its sequence number in *seq): poll CAP_STATUS, counting
 * empty polls in *empty_polls and waiting idle_cycles between them; DEMON_E_TIMEOUT after more
 * than max_idle empty polls in a row (0: wait for ever). */
static inline demon_status_t prog_next_sample(demon_dev_t *dev, uint32_t idle_cycles, uint32_t max_idle,
                                              uint32_t *empty_polls, uint32_t *seq)
{
    uint32_t idle = 0u;
    for (;;) {
        demon_status_t st = demon_capture_peek(dev, seq);
        if (st != DEMON_E_EMPTY) return st;
        *empty_polls += 1u;
        idle += 1u;
        if (max_idle != 0u && idle > max_idle) return DEMON_E_TIMEOUT;
        demon_plat_delay_cycles(dev->plat, idle_cycles);
    }
}

static inline int64_t floor_div(int64_t p, int64_t q)
{
    int64_t d = p / q;
    int64_t r = p % q;
    if (r < 0) {
        d -= 1;
    }
    return d;
}

static inline int64_t rnd_div(int64_t p, int64_t q)
{
    int64_t d = floor_div(p, q);
    int64_t r = p - d * q;          /* 0 <= r < q */
    if (2 * r >= q) {
        d += 1;
    }
    return d;
}

static inline int64_t rnd_shift(int64_t p, uint32_t k)
{
    return rnd_div(p, (int64_t)1 << k);
}

static inline int32_t sat32(int64_t v)
{
    if (v > INT32_MAX) return INT32_MAX;
    if (v < INT32_MIN) return INT32_MIN;
    return (int32_t)v;
}

/* mean of x = X / 2^(x_bits-1) over `count` samples whose codes sum to `sum`, Q(2, 30), RND:
 * round(sum * 2^(31 - x_bits) / count). |sum| <= count * 2^(x_bits-1), so the product is at most
 * count * 2^30 <= 2^60 for count <= 2^30. */
static inline int64_t mean_q30(int64_t sum, uint32_t count, uint32_t x_bits)
{
    return rnd_div(sum * ((int64_t)1 << (31u - x_bits)), (int64_t)count);
}

#endif /* DEMON_PROG_COMMON_H */
