/*
 * regmodel.h: a register-file model of the demon's AXI4-Lite slave for the host unit tests,
 * written from rtl/regmap.yaml (via the generated demon_regs.h) and rtl/README.md, not from the
 * driver: read-only registers built from the instance parameters, CTRL with its self-clearing
 * CLEAR and CAP_CLEAR, saturating counters, coefficient entries that keep their low COEF_W /
 * BIAS_W bits and read back sign-extended, the capture FIFO (sequence numbers, pop on the read
 * of the last channel, sticky OVERFLOW / UNDERFLOW), SLVERR for unmapped addresses, entries
 * beyond the instance's N, and writes to read-only registers (which change nothing).
 *
 * Every access is logged; a chosen access can be made to fail (bus error); the host platform's
 * delay hook feeds scripted ADC samples, as the analog array would while the firmware idles.
 */
#ifndef REGMODEL_H
#define REGMODEL_H

#include <stdint.h>

#include "demon_host.h"

#define REGMODEL_LOG_MAX 65536u
#define REGMODEL_DEPTH_MAX 256u
#define REGMODEL_RESP_OKAY 0
#define REGMODEL_RESP_SLVERR 2

typedef struct regmodel_access {
    char op;            /* 'R' or 'W' */
    uint32_t offset;
    uint32_t value;     /* the value read or written */
    int resp;           /* REGMODEL_RESP_OKAY or REGMODEL_RESP_SLVERR (or -1: injected bus error) */
} regmodel_access_t;

typedef struct regmodel {
    /* instance parameters (regmodel_init sets defaults; tests may change them before use) */
    uint32_t n, multipliers, x_bits, f_bits;
    uint32_t coef_int, coef_frac, bias_int, bias_frac, rounding, overflow;
    uint32_t cap_depth;
    /* the score network (unit = 1): COEF_A / COEF_B unmapped, the MLP and schedule arrays mapped */
    uint32_t unit, activation, layers, emb, hidden[3];
    uint32_t weight_int, weight_frac, act_int, act_frac, scale_int, scale_frac, ctrl_bits, sched_len;
    uint32_t table_bits, table_frac;  /* activation = 2: ACT_TABLE_FMT, ACT_TABLE mapped */
    uint32_t id, version;            /* what ID and VERSION read */
    uint32_t status;                 /* STATUS word (BUSY, OUT_VALID, IN_READY) */

    /* state */
    uint32_t enable, scratch;
    uint32_t cnt_in, cnt_out, cnt_drop, cnt_sat;
    uint32_t coef_a[4096], coef_b[64];          /* stored low bits */
    uint32_t mlp_w[8192], mlp_b[512], sched_scale[512], sched_drift[512], sched_noise[512], sched_emb[1024];
    uint32_t act_table[257];
    uint32_t sched_k, step;
    int32_t cap_codes[REGMODEL_DEPTH_MAX][64];
    uint32_t cap_seqnum[REGMODEL_DEPTH_MAX];
    uint32_t cap_head, cap_count, cap_next_seq;
    uint32_t cap_overflow, cap_underflow;
    uint32_t irq_enable, irq_sticky, irq_threshold;   /* IRQ_ENABLE, the event bits of IRQ_STATUS, IRQ_THRESHOLD */

    /* log and fault injection */
    regmodel_access_t log[REGMODEL_LOG_MAX];
    uint32_t nlog;
    uint32_t fail_at;                /* 1-based access index answered with a bus error; 0: none */
    uint32_t accesses;

    /* scripted samples: each delay call offers `feed_per_delay` of them (accepted if enabled) */
    const int32_t *feed;             /* feed_count rows of n codes */
    uint32_t feed_count, feed_pos, feed_per_delay;
    uint32_t delays, delay_cycles;   /* calls of the delay hook and their total cycles */

    struct demon_host host;          /* the platform context to hand to demon_init */
} regmodel_t;

/* A 4-channel linear instance: X 10 bits, F 10, A Q(3,9), b Q(3,9), TRN, SAT, depth 32, ID and
 * VERSION as the register map's reset values, everything else at reset. */
void regmodel_init(regmodel_t *m);

/* Make it a score-network instance: n channels, E embedding inputs, hidden layers h[0..layers-1],
 * weights Q(5,11), biases Q(2,12), activations Q(5,11), force_scale Q(1,22), 12-bit controls,
 * a 16-row schedule table. */
void regmodel_mlp(regmodel_t *m, uint32_t n, uint32_t emb, uint32_t layers, const uint32_t *h);

/* Entries of the score network's arrays the instance holds. */
uint32_t regmodel_w_entries(const regmodel_t *m);
uint32_t regmodel_b_entries(const regmodel_t *m);

/* An input handshake with these n codes: counted in CNT_IN and captured (or lost, OVERFLOW). */
void regmodel_accept(regmodel_t *m, const int32_t *codes);

/* IRQ_STATUS as the RTL would read it now: the level conditions (CAP_LEVEL, CAP_OVERFLOW, IDLE)
 * and the sticky event bits (BUS_ERROR: an SLVERR answer). */
uint32_t regmodel_irq_status(const regmodel_t *m);

/* Forget the log (the state stays). */
void regmodel_clear_log(regmodel_t *m);

/* Drop the reads from the log, keeping the writes in order; returns how many reads were dropped. */
uint32_t regmodel_keep_writes(regmodel_t *m);

/* Accesses logged since the last clear, and how many were writes / reads. */
uint32_t regmodel_writes(const regmodel_t *m);
uint32_t regmodel_reads(const regmodel_t *m);

/* Raw (sign-extended) coefficient as the hardware would read it back. */
int32_t regmodel_coef_a(const regmodel_t *m, uint32_t i);
int32_t regmodel_coef_b(const regmodel_t *m, uint32_t i);

#endif /* REGMODEL_H */
