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

/* What prog_take does with the head of the capture FIFO. */
#define PROG_PEEK 0u      /* demon_capture_peek: its sequence number only */
#define PROG_DISCARD 1u   /* demon_capture_discard: remove it unread */
#define PROG_READ 2u      /* demon_capture_read: remove it with its N codes */

/* Wait for a captured sample and peek at, discard or read it (its sequence number in *seq,
 * its codes in codes[0..N-1] for PROG_READ). While the FIFO is empty: count the empty poll in
 * *empty_polls and idle idle_cycles (demon_idle); DEMON_E_TIMEOUT once more than timeout_cycles
 * demon clock cycles (demon_now) have passed since the first empty poll (0: wait for ever).
 * Written against demon.h only. */
static inline demon_status_t prog_take(demon_dev_t *dev, uint32_t what, uint32_t idle_cycles, uint32_t timeout_cycles,
                                       uint32_t *empty_polls, uint32_t *seq, int32_t *codes)
{
    uint32_t t0 = 0u;
    uint32_t now;
    int waiting = 0;
    for (;;) {
        demon_status_t st;
        if (what == PROG_PEEK) {
            st = demon_capture_peek(dev, seq);
        } else if (what == PROG_DISCARD) {
            st = demon_capture_discard(dev, seq);
        } else {
            st = demon_capture_read(dev, seq, codes, DEMON_MAX_N);
        }
        if (st != DEMON_E_EMPTY) return st;
        *empty_polls += 1u;
        if (timeout_cycles != 0u) {
            if ((st = demon_now(dev, &now)) != DEMON_OK) return st;
            if (!waiting) {
                t0 = now;
                waiting = 1;
            } else if (now - t0 > timeout_cycles) {
                return DEMON_E_TIMEOUT;
            }
        }
        if ((st = demon_idle(dev, idle_cycles)) != DEMON_OK) return st;
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
