/*
 * demon_programs.h: protocol programs written against the driver (demon.h) only: they reach
 * the platform (its clock, its idle wait) through demon_now and demon_idle, never dev->plat.
 *
 *   demon_linear_solve   the thermodynamic linear solve: load A and b, start, skip the burn-in,
 *                        average the captured ADC samples in exact fixed point, return x
 *   demon_linear_solve_irq  the same, driven by the demon's interrupt instead of polling
 *   demon_anneal         an annealing schedule: stages of rising inverse temperature beta_k, the
 *                        coefficients beta_k * (A, b) loaded at each stage boundary while the
 *                        unit is idle, per-stage mean and spread of the captured samples
 *   demon_diffusion      a diffusion schedule run on the score-network demon: network and
 *                        schedule table loaded, step reset, the run's last sample returned
 *
 * Fixed point used here (named as in the rest of the project; TRN = floor, RND = half up, SAT):
 *   ADC code X (X_BITS bits) is x = X / 2^(X_BITS-1) in normalised full-scale units;
 *   mean_q30  the mean of x, Q(2, 30) in an int64, RND: round(sum X * 2^(31-X_BITS) / count);
 *   x_q16     the answer, Q(16, 16) in an int32, RND, SAT:
 *             round(mean_q30 * inv_scale_q16 / 2^30), with inv_scale_q16 = 1/a in Q(16, 16)
 *             (a: the compiler's scale, normalised ADC units per unit of the problem's x).
 * Sums are exact (int64: at most 2^30 samples of at most 2^23 in magnitude).
 *
 * The programs wait for samples by polling the capture FIFO and, while it is empty, idling
 * `idle_cycles` (demon_idle); once more than `timeout_cycles` demon clock cycles (demon_now, the
 * platform's clock) have passed since the first empty poll of a wait (0: no limit) they stop with
 * DEMON_E_TIMEOUT. A lost sample is DEMON_E_OVERRUN (a sequence number skipped, or
 * CAP_STATUS.OVERFLOW), a FIFO read while empty DEMON_E_UNDERFLOW. On any error they stop the
 * input (best effort) and return the first error. Every status they can return: DEMON_OK,
 * DEMON_E_NULL, DEMON_E_NOT_READY, DEMON_E_SIZE, DEMON_E_RANGE, DEMON_E_UNSUPPORTED,
 * DEMON_E_RUNNING (another handle started the unit meanwhile), DEMON_E_BUS, DEMON_E_OVERRUN,
 * DEMON_E_UNDERFLOW, DEMON_E_TIMEOUT.
 */
#ifndef DEMON_PROGRAMS_H
#define DEMON_PROGRAMS_H

#include <stdint.h>

#include "demon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of samples a program averages (keeps every sum and product in int64). */
#define DEMON_PROG_MAX_SAMPLES (1u << 30)

typedef struct demon_linear_solve_args {
    const int32_t *a;          /* N*N raw Q(COEF_INT, COEF_FRAC), row-major */
    const int32_t *b;          /* N raw Q(BIAS_INT, BIAS_FRAC) */
    uint32_t n;                /* must equal the instance's N */
    uint32_t burn_in;          /* samples (sequence numbers 0..burn_in-1) discarded */
    uint32_t samples;          /* samples averaged: sequence numbers burn_in .. burn_in+samples-1 */
    int32_t inv_scale_q16;     /* 1/a, Q(16, 16), > 0 */
    uint32_t idle_cycles;      /* back-off while the FIFO is empty */
    uint32_t timeout_cycles;   /* longest wait for one sample, demon clock cycles; 0: no limit */
} demon_linear_solve_args_t;

typedef struct demon_linear_solve_result {
    int32_t x_q16[DEMON_MAX_N];    /* the solution, Q(16, 16) */
    int64_t mean_q30[DEMON_MAX_N]; /* mean of the normalised ADC samples, Q(2, 30) */
    int64_t sum[DEMON_MAX_N];      /* exact sums of the ADC codes */
    uint32_t count;                /* samples averaged */
    uint32_t discarded;            /* burn-in samples removed unread */
    uint32_t empty_polls;          /* polls that found the FIFO empty */
    demon_counters_t counters;     /* CNT_* after the run */
} demon_linear_solve_result_t;

/* `dev` initialised by demon_init. Returns DEMON_OK with `result` filled, or the first error. */
demon_status_t demon_linear_solve(demon_dev_t *dev, const demon_linear_solve_args_t *args,
                                  demon_linear_solve_result_t *result);

/* The same solve, interrupt-driven (register map 1.3): IRQ_THRESHOLD = threshold
 * (1..CAP_DEPTH; lowered to what is still to come near the end), CAP_LEVEL and CAP_OVERFLOW
 * enabled, an ISR attached (demon_irq_attach) that drains the FIFO with demon_capture_drain and
 * accumulates; the main loop sleeps in demon_wait_irq(idle_cycles), reading IRQ_STATUS once per
 * wake-up without an interrupt (counted in empty_polls). Same samples, same arithmetic, same
 * result as demon_linear_solve. DEMON_E_UNSUPPORTED on an instance without interrupts. */
demon_status_t demon_linear_solve_irq(demon_dev_t *dev, const demon_linear_solve_args_t *args, uint32_t threshold,
                                      demon_linear_solve_result_t *result);

/* Largest number of annealing stages. */
#define DEMON_ANNEAL_MAX_STAGES 16u

/* Largest number of samples a stage averages (keeps the sums of squares in int64). */
#define DEMON_ANNEAL_MAX_STAGE_SAMPLES (1u << 16)

typedef struct demon_anneal_args {
    const int32_t *a;              /* N*N raw base matrix (beta = 1), row-major */
    const int32_t *b;              /* N raw base vector */
    uint32_t n;                    /* must equal the instance's N */
    uint32_t stages;               /* 1..DEMON_ANNEAL_MAX_STAGES */
    const int32_t *beta_q16;       /* `stages` values, Q(16, 16), > 0: stage k loads beta_k * (A, b) */
    const uint32_t *stage_samples; /* samples averaged per stage, 1..DEMON_ANNEAL_MAX_STAGE_SAMPLES */
    uint32_t settle;               /* samples removed unread at the start of every stage */
    int32_t *work;                 /* scratch of at least N*N + N values (the scaled coefficients) */
    uint32_t idle_cycles;
    uint32_t timeout_cycles;
} demon_anneal_args_t;

typedef struct demon_anneal_result {
    int64_t mean_q30[DEMON_ANNEAL_MAX_STAGES][DEMON_MAX_N];  /* per-stage mean of x, Q(2, 30) */
    int64_t var_q30[DEMON_ANNEAL_MAX_STAGES][DEMON_MAX_N];   /* per-stage variance of x, Q(2, 30) */
    uint32_t count[DEMON_ANNEAL_MAX_STAGES];                 /* samples averaged per stage */
    uint32_t empty_polls;
    demon_counters_t counters;
} demon_anneal_result_t;

/* The raw coefficients of a stage: out[i] = RND(beta_q16 * v[i] / 2^16) for a signed `width`-bit
 * format (2..32). Returns DEMON_E_RANGE, with out[] unspecified, if a value does not fit (the
 * program refuses such a schedule before writing anything). Exposed so that tests and the host
 * can predict exactly what the program writes. */
demon_status_t demon_anneal_scale(const int32_t *v, uint32_t count, int32_t beta_q16, uint32_t width,
                                  int32_t *out);

demon_status_t demon_anneal(demon_dev_t *dev, const demon_anneal_args_t *args, demon_anneal_result_t *result);

typedef struct demon_diffusion_args {
    const int32_t *weights;        /* every weight layer's W (out x in, row-major), layer by layer:
                                      the MLP_W layout, raw Q(WEIGHT_INT, WEIGHT_FRAC) */
    uint32_t n_weights;            /* must equal the instance's sum of out_l * in_l */
    const int32_t *biases;         /* every layer's biases, layer by layer, raw Q(BIAS_INT, BIAS_FRAC) */
    uint32_t n_biases;             /* must equal the instance's sum of out_l */
    const int32_t *scale;          /* schedule: force_scale[k], raw Q(SCALE_INT, SCALE_FRAC) */
    const int32_t *drift;          /* drift_ctrl[k], raw Q(1, CTRL_BITS-1) */
    const int32_t *noise;          /* noise_ctrl[k], raw Q(1, CTRL_BITS-1) */
    const int32_t *emb;            /* emb[k*E + e], raw Q(ACT_INT, ACT_FRAC); NULL when E = 0 */
    uint32_t rows;                 /* schedule rows K, 1..SCHED_LEN */
    uint32_t samples;              /* samples of the run; the last one (number samples-1) is the result */
    uint32_t idle_cycles;
    uint32_t timeout_cycles;
} demon_diffusion_args_t;

typedef struct demon_diffusion_result {
    int32_t final_codes[DEMON_MAX_N]; /* ADC codes of the run's last sample: the generated point */
    uint32_t final_seq;               /* its sequence number (samples - 1) */
    uint32_t step;                    /* STEP after the run (K-1 once every row was used) */
    uint32_t discarded;               /* samples removed unread before the last one */
    uint32_t empty_polls;
    demon_counters_t counters;
} demon_diffusion_result_t;

/* A diffusion (reverse-SDE) schedule run on the score-network demon: load the network layer by
 * layer and the schedule table (every value checked against the instance's formats before the
 * first write), start with the counters, the capture FIFO and the schedule step reset in one CTRL
 * write, remove samples 0 .. samples-2 unread as they come, read the last one (the generated
 * point: the schedule's final hold row freezes it), stop, read STEP and the counters. */
demon_status_t demon_diffusion(demon_dev_t *dev, const demon_diffusion_args_t *args, demon_diffusion_result_t *result);

/* Sizes of the argument and result structs, so a foreign caller (ctypes) can check its mirror. */
uint32_t demon_programs_sizeof(uint32_t which);
#define DEMON_SIZEOF_LINEAR_SOLVE_ARGS 0u
#define DEMON_SIZEOF_LINEAR_SOLVE_RESULT 1u
#define DEMON_SIZEOF_ANNEAL_ARGS 2u
#define DEMON_SIZEOF_ANNEAL_RESULT 3u
#define DEMON_SIZEOF_DEV 4u
#define DEMON_SIZEOF_HOST 5u
#define DEMON_SIZEOF_DIFFUSION_ARGS 6u
#define DEMON_SIZEOF_DIFFUSION_RESULT 7u

#ifdef __cplusplus
}
#endif

#endif /* DEMON_PROGRAMS_H */
