/*
 * A diffusion schedule run (the fluctuation-frontier paper, section 8) on the score-network demon,
 * written against the driver only.
 *
 * The schedule table drives the run: row k sets the force scale and the two analog controls (the
 * cells' drift and their noise power) and the network's time embedding for the k-th accepted
 * sample; the step counter advances once per accepted sample and stays on the last row, a hold
 * row that freezes the state, so the run's last sample reads the generated point. This program:
 *
 *   1. checks every argument against the instance (sizes, and every weight, bias and table entry
 *      against its format) before any register access;
 *   2. stops the input, loads the network layer by layer and the table (and SCHED_K), and starts
 *      with the counters, the capture FIFO and the step reset in one CTRL write, so sample m of
 *      the run uses row min(m, K-1) and carries sequence number m;
 *   3. removes samples 0 .. samples-2 unread as they come (one bus read each), reads the last;
 *   4. stops the input and reads STEP and the counters.
 */
#include <stddef.h>

#include "demon_programs.h"
#include "prog_common.h"

static int fits(const int32_t *v, uint32_t count, uint32_t width)
{
    int64_t hi = ((int64_t)1 << (width - 1u)) - 1;
    int64_t lo = -hi - 1;
    uint32_t i;
    for (i = 0; i < count; i++) {
        if (v[i] < lo || v[i] > hi) return 0;
    }
    return 1;
}

static demon_status_t check_args(demon_dev_t *dev, const demon_diffusion_args_t *args, demon_info_t *info)
{
    demon_status_t st = demon_info(dev, info);
    uint32_t l;
    uint32_t rows;
    uint32_t cols;
    uint32_t nw = 0u;
    uint32_t nb = 0u;
    if (st != DEMON_OK) return st;
    if (args->weights == NULL || args->biases == NULL || args->scale == NULL || args->drift == NULL
            || args->noise == NULL || (args->emb == NULL && info->emb != 0u)) {
        return DEMON_E_NULL;
    }
    if (info->unit != DEMON_UNIT_MLP) return DEMON_E_UNSUPPORTED;
    for (l = 0; l <= info->layers; l++) {
        if ((st = demon_mlp_layer_shape(dev, l, &rows, &cols)) != DEMON_OK) return st;
        nw += rows * cols;
        nb += rows;
    }
    if (args->n_weights != nw || args->n_biases != nb) return DEMON_E_SIZE;
    if (args->rows < 1u || args->rows > info->sched_len) return DEMON_E_SIZE;
    if (args->samples < 1u) return DEMON_E_RANGE;
    if (!fits(args->weights, nw, info->weight_w) || !fits(args->biases, nb, info->bias_w)
            || !fits(args->scale, args->rows, info->scale_w) || !fits(args->drift, args->rows, info->ctrl_bits)
            || !fits(args->noise, args->rows, info->ctrl_bits)
            || (info->emb != 0u && !fits(args->emb, args->rows * info->emb, info->act_w))) {
        return DEMON_E_RANGE;
    }
    return DEMON_OK;
}

static demon_status_t run(demon_dev_t *dev, const demon_diffusion_args_t *args, demon_diffusion_result_t *res,
                          const demon_info_t *info)
{
    demon_status_t st;
    int32_t codes[DEMON_MAX_N];
    uint32_t last = args->samples - 1u;
    uint32_t wo = 0u;
    uint32_t bo = 0u;
    uint32_t seq;
    uint32_t rows;
    uint32_t cols;
    uint32_t l;
    uint32_t j;

    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    for (l = 0; l <= info->layers; l++) {
        /* checked by check_args; tested again so that no path uses rows and cols unset (an LTO
         * build sees through the call and would warn, -Werror) */
        if ((st = demon_mlp_layer_shape(dev, l, &rows, &cols)) != DEMON_OK) return st;
        if ((st = demon_load_mlp_layer(dev, l, args->weights + wo, rows, cols, args->biases + bo, rows)) != DEMON_OK) {
            return st;
        }
        wo += rows * cols;
        bo += rows;
    }
    if ((st = demon_load_schedule(dev, args->scale, args->drift, args->noise, args->emb, args->rows, info->emb)) != DEMON_OK) {
        return st;
    }
    if ((st = demon_start(dev, DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE | DEMON_START_STEP_RESET)) != DEMON_OK) {
        return st;
    }
    for (seq = 0u; seq < last; seq++) {
        uint32_t got;
        if ((st = prog_take(dev, PROG_DISCARD, args->idle_cycles, args->timeout_cycles, &res->empty_polls, &got,
                            NULL)) != DEMON_OK) {
            return st;
        }
        if (got != seq) return DEMON_E_OVERRUN;   /* a sample went missing */
        res->discarded += 1u;
    }
    if ((st = prog_take(dev, PROG_READ, args->idle_cycles, args->timeout_cycles, &res->empty_polls, &res->final_seq,
                        codes)) != DEMON_OK) {
        return st;
    }
    if (res->final_seq != last) return DEMON_E_OVERRUN;
    for (j = 0; j < info->n; j++) {
        res->final_codes[j] = codes[j];
    }
    if ((st = demon_stop(dev)) != DEMON_OK) return st;
    if ((st = demon_read_step(dev, &res->step)) != DEMON_OK) return st;
    return demon_read_counters(dev, &res->counters);
}

demon_status_t demon_diffusion(demon_dev_t *dev, const demon_diffusion_args_t *args, demon_diffusion_result_t *result)
{
    demon_status_t st;
    demon_info_t info;
    uint32_t j;
    if (dev == NULL || args == NULL || result == NULL) return DEMON_E_NULL;
    if ((st = check_args(dev, args, &info)) != DEMON_OK) return st;
    for (j = 0; j < DEMON_MAX_N; j++) {
        result->final_codes[j] = 0;
    }
    result->final_seq = 0u;
    result->step = 0u;
    result->discarded = 0u;
    result->empty_polls = 0u;
    result->counters.in = result->counters.out = result->counters.drop = result->counters.sat = 0u;
    st = run(dev, args, result, &info);
    if (st != DEMON_OK) {
        (void)demon_stop(dev);
    }
    return st;
}
