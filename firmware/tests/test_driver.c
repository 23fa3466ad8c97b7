/*
 * Host unit tests of the demon driver and the protocol programs against the register-file model
 * (regmodel.c). Built with -std=c99 -Wall -Wextra -Werror and AddressSanitizer + UBSan by
 * `make check` (and by tests/test_firmware.py).
 *
 *   test_driver                 run every test; exit status 0 only if all pass
 *   test_driver --load-trace    read "linear n coef_w bias_w" then n*n + n raw values from stdin,
 *                               run demon_init + demon_load_matrix + demon_load_vector on a model
 *                               of that shape and print the status, then one line per register
 *                               write of the load ("W 0x1000 0xFFFFF800"), for the Python side to
 *                               compare with the register map; or "mlp n emb layers h1 h2 h3
 *                               weight_w bias_w", every weight then every bias (layer by layer),
 *                               loaded layer by layer with demon_load_mlp_layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demon.h"
#include "demon_programs.h"
#include "regmodel.h"

static int failures;
static int checks;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        checks++;                                                                       \
        if (!(cond)) {                                                                  \
            failures++;                                                                 \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                               \
    } while (0)

#define CHECK_ST(expr, want)                                                            \
    do {                                                                                \
        demon_status_t got_ = (expr);                                                   \
        checks++;                                                                       \
        if (got_ != (want)) {                                                           \
            failures++;                                                                 \
            fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s\n", __FILE__, __LINE__, \
                    __func__, #expr, demon_status_name(got_), demon_status_name(want)); \
        }                                                                               \
    } while (0)

static regmodel_t M;      /* large (the log): static, one model reused by every test */
static demon_dev_t D;

/* A fresh model (4 channels unless changed by `setup`) and an initialised device; log cleared. */
static void fresh(void (*setup)(regmodel_t *))
{
    regmodel_init(&M);
    if (setup != NULL) setup(&M);
    memset(&D, 0, sizeof D);
    if (demon_init(&D, &M.host) != DEMON_OK) {
        fprintf(stderr, "fresh: demon_init failed\n");
        exit(2);
    }
    regmodel_clear_log(&M);
}

static uint32_t word(int32_t v)
{
    return (uint32_t)v;
}

static void set_n8(regmodel_t *m)
{
    m->n = 8u;
    m->multipliers = 3u;
    m->x_bits = 12u;
    m->coef_int = 4u;
    m->coef_frac = 12u;   /* COEF_W 16 */
    m->bias_int = 2u;
    m->bias_frac = 14u;   /* BIAS_W 16 */
    m->cap_depth = 8u;
}

/* ------------------------------------------------------------------------------------------- */

static void test_status_names(void)
{
    CHECK(strcmp(demon_status_name(DEMON_OK), "DEMON_OK") == 0);
    CHECK(strcmp(demon_status_name(DEMON_E_RANGE), "DEMON_E_RANGE") == 0);
    CHECK(strcmp(demon_status_name((demon_status_t)99), "DEMON_E_UNKNOWN") == 0);
}

static void test_init_reads_the_instance(void)
{
    static const uint32_t expect_reads[] = {DEMON_ID_OFFSET, DEMON_VERSION_OFFSET, DEMON_SHAPE_OFFSET,
        DEMON_WIDTHS_OFFSET, DEMON_FORMAT_OFFSET, DEMON_TIMING_OFFSET, DEMON_CAP_STATUS_OFFSET,
        DEMON_UNIT_OFFSET, DEMON_MLP_SHAPE_OFFSET, DEMON_MLP_WIDTHS_OFFSET, DEMON_MLP_FORMAT_OFFSET,
        DEMON_SCHED_LEN_OFFSET, DEMON_ACT_TABLE_FMT_OFFSET};
    demon_info_t info;
    uint32_t i;
    regmodel_init(&M);
    set_n8(&M);
    M.rounding = 2u;
    M.overflow = 1u;
    M.enable = 1u;
    M.cnt_in = 77u;
    CHECK_ST(demon_init(&D, &M.host), DEMON_OK);
    CHECK_ST(demon_info(&D, &info), DEMON_OK);
    CHECK(info.n == 8u && info.multipliers == 3u && info.x_bits == 12u && info.f_bits == 10u);
    CHECK(info.coef_w == 16u && info.bias_w == 16u && info.coef_frac == 12u && info.bias_frac == 14u);
    CHECK(info.rounding == 2u && info.overflow == 1u && info.cap_depth == 8u);
    CHECK(info.latency == 8u * 3u + 1u && info.ii == 8u * 3u + 1u);
    CHECK(info.version == DEMON_VERSION_RESET && info.unit == DEMON_UNIT_LINEAR && info.layers == 0u);
    /* thirteen reads of the read-only registers, then one write: stop, clear counters and capture */
    CHECK(M.nlog == 14u);
    for (i = 0; i < 13u && i < M.nlog; i++) {
        CHECK(M.log[i].op == 'R' && M.log[i].offset == expect_reads[i]);
    }
    CHECK(M.log[13].op == 'W' && M.log[13].offset == DEMON_CTRL_OFFSET
          && M.log[13].value == (DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK));
    CHECK(M.enable == 0u && M.cnt_in == 0u);
}

static void bad_id(regmodel_t *m) { m->id = 0x12345678u; }
static void bad_major(regmodel_t *m) { m->version = 0x00020001u; }
static void old_minor(regmodel_t *m) { m->version = 0x00010001u; }
static void bad_shape(regmodel_t *m) { m->n = 0u; }
static void bad_unit(regmodel_t *m) { m->unit = 2u; }
static void mlp_no_layers(regmodel_t *m) { uint32_t h[1] = {8u}; regmodel_mlp(m, 2u, 2u, 1u, h); m->layers = 0u; }
static void mlp_empty_layer(regmodel_t *m) { uint32_t h[2] = {8u, 0u}; regmodel_mlp(m, 2u, 2u, 2u, h); }

static void test_init_errors(void)
{
    void (*setups[])(regmodel_t *) = {bad_id, bad_major, old_minor, bad_shape, bad_unit, mlp_no_layers, mlp_empty_layer};
    uint32_t i;
    uint32_t k;
    CHECK_ST(demon_init(NULL, &M.host), DEMON_E_NULL);
    regmodel_init(&M);
    CHECK_ST(demon_init(&D, NULL), DEMON_E_NULL);
    CHECK(M.nlog == 0u);
    for (i = 0; i < sizeof setups / sizeof setups[0]; i++) {
        regmodel_init(&M);
        setups[i](&M);
        memset(&D, 0, sizeof D);
        CHECK_ST(demon_init(&D, &M.host), DEMON_E_ID);
        CHECK(regmodel_writes(&M) == 0u);                 /* nothing written to a foreign device */
        CHECK_ST(demon_stop(&D), DEMON_E_NOT_READY);      /* and the handle is unusable */
    }
    /* a bus error at each of init's thirteen accesses: DEMON_E_BUS, stopped right there */
    for (k = 1; k <= 13u; k++) {
        regmodel_init(&M);
        M.fail_at = k;
        memset(&D, 0, sizeof D);
        CHECK_ST(demon_init(&D, &M.host), DEMON_E_BUS);
        CHECK(M.nlog == k);
    }
    /* a model with no platform functions: a bus error, not a crash */
    {
        struct demon_host none;
        memset(&none, 0, sizeof none);
        CHECK_ST(demon_init(&D, &none), DEMON_E_BUS);
    }
}

/* Every entry point refuses a NULL device, and an uninitialised one, without any access. */
static void test_null_and_uninitialised_device(void)
{
    int32_t v[64];
    uint32_t u;
    demon_info_t info;
    demon_state_t state;
    demon_counters_t cnt;
    demon_dev_t *devs[2];
    demon_status_t want[2] = {DEMON_E_NULL, DEMON_E_NOT_READY};
    demon_dev_t blank;
    int32_t lo;
    int32_t hi;
    uint32_t i;
    memset(&blank, 0, sizeof blank);
    blank.plat = &M.host;
    devs[0] = NULL;
    devs[1] = &blank;
    regmodel_init(&M);
    for (i = 0; i < 2u; i++) {
        demon_dev_t *d = devs[i];
        CHECK_ST(demon_reset(d), want[i]);
        CHECK_ST(demon_info(d, &info), want[i]);
        CHECK_ST(demon_coef_range(d, 0u, &lo, &hi), want[i]);
        CHECK_ST(demon_load_matrix(d, v, 4u, 4u), want[i]);
        CHECK_ST(demon_load_vector(d, v, 4u), want[i]);
        CHECK_ST(demon_read_matrix(d, v, 4u, 4u), want[i]);
        CHECK_ST(demon_read_vector(d, v, 4u), want[i]);
        CHECK_ST(demon_start(d, 0u), want[i]);
        CHECK_ST(demon_stop(d), want[i]);
        CHECK_ST(demon_read_state(d, &state), want[i]);
        CHECK_ST(demon_read_counters(d, &cnt), want[i]);
        CHECK_ST(demon_clear_counters(d), want[i]);
        CHECK_ST(demon_capture_clear(d), want[i]);
        CHECK_ST(demon_clear_errors(d), want[i]);
        CHECK_ST(demon_capture_status(d, &u, NULL, NULL), want[i]);
        CHECK_ST(demon_capture_read(d, &u, v, 64u), want[i]);
        CHECK_ST(demon_capture_peek(d, &u), want[i]);
        CHECK_ST(demon_capture_discard(d, &u), want[i]);
    }
    CHECK(M.nlog == 0u);
}

/* Every pointer argument: NULL is refused without any access. */
static void test_null_arguments(void)
{
    int32_t v[64];
    uint32_t u;
    int32_t lo;
    fresh(NULL);
    CHECK_ST(demon_info(&D, NULL), DEMON_E_NULL);
    CHECK_ST(demon_coef_range(&D, 0u, NULL, &lo), DEMON_E_NULL);
    CHECK_ST(demon_coef_range(&D, 0u, &lo, NULL), DEMON_E_NULL);
    CHECK_ST(demon_load_matrix(&D, NULL, 4u, 4u), DEMON_E_NULL);
    CHECK_ST(demon_load_vector(&D, NULL, 4u), DEMON_E_NULL);
    CHECK_ST(demon_read_matrix(&D, NULL, 4u, 4u), DEMON_E_NULL);
    CHECK_ST(demon_read_vector(&D, NULL, 4u), DEMON_E_NULL);
    CHECK_ST(demon_read_state(&D, NULL), DEMON_E_NULL);
    CHECK_ST(demon_read_counters(&D, NULL), DEMON_E_NULL);
    CHECK_ST(demon_capture_status(&D, NULL, NULL, NULL), DEMON_E_NULL);
    CHECK_ST(demon_capture_read(&D, &u, NULL, 64u), DEMON_E_NULL);
    CHECK_ST(demon_capture_peek(&D, NULL), DEMON_E_NULL);
    CHECK_ST(demon_linear_solve(&D, NULL, NULL), DEMON_E_NULL);
    CHECK_ST(demon_anneal(&D, NULL, NULL), DEMON_E_NULL);
    (void)v;
    CHECK(M.nlog == 0u);
}

static void test_sizes_are_checked(void)
{
    int32_t v[4096];
    uint32_t u;
    static const uint32_t bad[][2] = {{3u, 4u}, {4u, 3u}, {5u, 5u}, {0u, 0u}, {64u, 64u}, {65u, 65u}, {4u, 0xFFFFFFFFu}};
    uint32_t i;
    memset(v, 0, sizeof v);
    fresh(NULL);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ST(demon_load_matrix(&D, v, bad[i][0], bad[i][1]), DEMON_E_SIZE);
        CHECK_ST(demon_read_matrix(&D, v, bad[i][0], bad[i][1]), DEMON_E_SIZE);
    }
    CHECK_ST(demon_load_vector(&D, v, 3u), DEMON_E_SIZE);
    CHECK_ST(demon_load_vector(&D, v, 5u), DEMON_E_SIZE);
    CHECK_ST(demon_load_vector(&D, v, 65u), DEMON_E_SIZE);
    CHECK_ST(demon_read_vector(&D, v, 0u), DEMON_E_SIZE);
    CHECK_ST(demon_capture_read(&D, &u, v, 3u), DEMON_E_SIZE);   /* fewer than N codes of room */
    CHECK_ST(demon_coef_range(&D, 2u, &v[0], &v[1]), DEMON_E_RANGE);
    CHECK_ST(demon_start(&D, 0x8u), DEMON_E_RANGE);
    CHECK_ST(demon_start(&D, DEMON_START_STEP_RESET), DEMON_E_UNSUPPORTED);   /* a linear instance */
    CHECK(M.nlog == 0u);
}

/* Values one step outside the format, at the first, a middle and the last entry: refused, and
 * not one register is written (the check precedes the first write). */
static void range_case(void (*setup)(regmodel_t *), uint32_t coef_w, uint32_t bias_w)
{
    int32_t a[4096];
    int32_t b[64];
    int32_t lo;
    int32_t hi;
    uint32_t n;
    uint32_t pos[3];
    uint32_t i;
    uint32_t p;
    fresh(setup);
    n = D.info.n;
    CHECK(D.info.coef_w == coef_w && D.info.bias_w == bias_w);
    CHECK_ST(demon_coef_range(&D, 0u, &lo, &hi), DEMON_OK);
    CHECK(coef_w == 32u ? (lo == INT32_MIN && hi == INT32_MAX)
                        : (hi == (int32_t)((1u << (coef_w - 1u)) - 1u) && lo == -hi - 1));
    for (i = 0; i < n * n; i++) a[i] = (i % 2u) ? hi : lo;
    for (i = 0; i < n; i++) b[i] = 0;
    pos[0] = 0u;
    pos[1] = n * n / 2u;
    pos[2] = n * n - 1u;
    if (coef_w < 32u) {
        for (p = 0; p < 3u; p++) {
            int32_t keep = a[pos[p]];
            a[pos[p]] = hi + 1;
            CHECK_ST(demon_load_matrix(&D, a, n, n), DEMON_E_RANGE);
            a[pos[p]] = lo - 1;
            CHECK_ST(demon_load_matrix(&D, a, n, n), DEMON_E_RANGE);
            a[pos[p]] = keep;
        }
    }
    CHECK(M.nlog == 0u);
    CHECK_ST(demon_load_matrix(&D, a, n, n), DEMON_OK);       /* the extremes themselves fit */
    CHECK(regmodel_writes(&M) == n * n);
    CHECK_ST(demon_coef_range(&D, 1u, &lo, &hi), DEMON_OK);
    regmodel_clear_log(&M);
    for (i = 0; i < n; i++) b[i] = (i % 2u) ? lo : hi;
    if (bias_w < 32u) {
        b[n - 1u] = hi + 1;
        CHECK_ST(demon_load_vector(&D, b, n), DEMON_E_RANGE);
        b[n - 1u] = lo - 1;
        CHECK_ST(demon_load_vector(&D, b, n), DEMON_E_RANGE);
        b[0] = hi + 1;
        b[n - 1u] = lo;
        CHECK_ST(demon_load_vector(&D, b, n), DEMON_E_RANGE);
        b[0] = hi;
    }
    CHECK(M.nlog == 0u);
    CHECK_ST(demon_load_vector(&D, b, n), DEMON_OK);
    CHECK(regmodel_writes(&M) == n);
}

static void set_narrow(regmodel_t *m) { m->n = 3u; m->multipliers = 1u; m->coef_int = 1u; m->coef_frac = 1u; m->bias_int = 1u; m->bias_frac = 1u; }
static void set_wide(regmodel_t *m) { m->n = 2u; m->multipliers = 2u; m->coef_int = 16u; m->coef_frac = 16u; m->bias_int = 20u; m->bias_frac = 11u; }

static void test_fixed_point_ranges(void)
{
    range_case(NULL, 12u, 12u);
    range_case(set_n8, 16u, 16u);
    range_case(set_narrow, 2u, 2u);
    range_case(set_wide, 32u, 31u);
}

/* The exact writes of a coefficient load: COEF_A entry r*N + c at COEF_A + 4*(r*N + c) in
 * increasing order, the value's 32-bit two's complement; then COEF_B. Read-back returns them. */
/* A coefficient load opens with the stopped-and-idle check (CTRL, then STATUS): check those two
 * reads, then keep only the writes in the log. */
static int opens_with_stop_check(void)
{
    int ok = M.nlog >= 2u && M.log[0].op == 'R' && M.log[0].offset == DEMON_CTRL_OFFSET && M.log[1].op == 'R'
             && M.log[1].offset == DEMON_STATUS_OFFSET;
    return ok && regmodel_keep_writes(&M) == 2u;
}

static void test_coefficient_load_writes_and_read_back(void)
{
    int32_t a[64];
    int32_t b[8];
    int32_t back[64];
    uint32_t i;
    fresh(set_n8);
    for (i = 0; i < 64u; i++) a[i] = (int32_t)((i * 2654435761u) % 65536u) - 32768;
    a[0] = -32768;
    a[63] = 32767;
    for (i = 0; i < 8u; i++) b[i] = (int32_t)(i * 4099u % 65536u) - 32768;
    CHECK_ST(demon_load_matrix(&D, a, 8u, 8u), DEMON_OK);
    CHECK(opens_with_stop_check());
    CHECK(M.nlog == 64u);
    for (i = 0; i < 64u && i < M.nlog; i++) {
        CHECK(M.log[i].op == 'W' && M.log[i].offset == 0x1000u + 4u * i && M.log[i].value == word(a[i])
              && M.log[i].resp == REGMODEL_RESP_OKAY);
    }
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_vector(&D, b, 8u), DEMON_OK);
    CHECK(opens_with_stop_check());
    CHECK(M.nlog == 8u);
    for (i = 0; i < 8u && i < M.nlog; i++) {
        CHECK(M.log[i].op == 'W' && M.log[i].offset == 0x6000u + 4u * i && M.log[i].value == word(b[i]));
    }
    for (i = 0; i < 64u; i++) CHECK(regmodel_coef_a(&M, i) == a[i]);
    for (i = 0; i < 8u; i++) CHECK(regmodel_coef_b(&M, i) == b[i]);
    regmodel_clear_log(&M);
    CHECK_ST(demon_read_matrix(&D, back, 8u, 8u), DEMON_OK);
    CHECK(memcmp(back, a, sizeof a) == 0);
    CHECK(regmodel_reads(&M) == 64u && M.log[0].offset == DEMON_COEF_A_OFFSET);
    CHECK_ST(demon_read_vector(&D, back, 8u), DEMON_OK);
    CHECK(memcmp(back, b, sizeof b) == 0);
    /* read-back sign-extends whatever the hardware holds (here bits above COEF_W were junk) */
    M.coef_a[5] = 0x8001u;
    CHECK_ST(demon_read_matrix(&D, back, 8u, 8u), DEMON_OK);
    CHECK(back[5] == -32767);
}

static void test_control_writes(void)
{
    fresh(NULL);
    CHECK_ST(demon_start(&D, 0u), DEMON_OK);
    CHECK_ST(demon_clear_counters(&D), DEMON_OK);
    CHECK_ST(demon_capture_clear(&D), DEMON_OK);
    CHECK_ST(demon_clear_errors(&D), DEMON_OK);
    CHECK_ST(demon_stop(&D), DEMON_OK);
    CHECK_ST(demon_start(&D, DEMON_START_CLEAR_COUNTERS), DEMON_OK);
    CHECK_ST(demon_start(&D, DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE), DEMON_OK);
    CHECK_ST(demon_reset(&D), DEMON_OK);
    CHECK_ST(demon_clear_counters(&D), DEMON_OK);    /* stopped: ENABLE stays 0 */
    /* the clears read CTRL first and keep the ENABLE they find (4 reads); start, stop, reset don't */
    CHECK(regmodel_keep_writes(&M) == 4u);
    {
        static const uint32_t want[] = {0x1u, 0x3u, 0x5u, 0x7u, 0x0u, 0x3u, 0x7u, 0x6u, 0x2u};
        uint32_t i;
        CHECK(M.nlog == sizeof want / sizeof want[0]);
        for (i = 0; i < M.nlog && i < sizeof want / sizeof want[0]; i++) {
            CHECK(M.log[i].op == 'W' && M.log[i].offset == DEMON_CTRL_OFFSET && M.log[i].value == want[i]);
        }
    }
}

static void test_state_and_counters(void)
{
    demon_state_t s;
    demon_counters_t c;
    int32_t x[4] = {1, 2, 3, 4};
    fresh(NULL);
    M.status = DEMON_STATUS_BUSY_MASK | DEMON_STATUS_IN_READY_MASK;
    M.enable = 1u;
    regmodel_accept(&M, x);
    regmodel_accept(&M, x);
    M.cnt_out = 5u;
    M.cnt_drop = 6u;
    M.cnt_sat = 0xFFFFFFFFu;
    CHECK_ST(demon_read_state(&D, &s), DEMON_OK);
    CHECK(s.enabled == 1u && s.busy == 1u && s.out_valid == 0u && s.in_ready == 1u);
    CHECK(s.cap_level == 2u && s.cap_overflow == 0u && s.cap_underflow == 0u);
    CHECK_ST(demon_read_counters(&D, &c), DEMON_OK);
    CHECK(c.in == 2u && c.out == 5u && c.drop == 6u && c.sat == 0xFFFFFFFFu);
    CHECK(M.nlog == 7u && regmodel_writes(&M) == 0u);
}

static void test_capture(void)
{
    int32_t x[3][4] = {{-512, 511, 0, -1}, {1, -2, 3, -4}, {100, -100, 200, -200}};
    int32_t codes[64];
    uint32_t seq = 99u;
    uint32_t level;
    uint32_t ovf;
    uint32_t udf;
    uint32_t i;
    fresh(NULL);
    /* empty: one CAP_STATUS read, DEMON_E_EMPTY, and no underflow provoked */
    CHECK_ST(demon_capture_read(&D, &seq, codes, 64u), DEMON_E_EMPTY);
    CHECK(M.nlog == 1u && M.log[0].offset == DEMON_CAP_STATUS_OFFSET && M.cap_underflow == 0u);
    for (i = 0; i < 3u; i++) regmodel_accept(&M, x[i]);
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 64u), DEMON_OK);
    CHECK(seq == 0u && codes[0] == -512 && codes[1] == 511 && codes[2] == 0 && codes[3] == -1);
    /* first read: CAP_STATUS, CAP_SEQ, CAP_DATA[0..3] */
    CHECK(M.nlog == 6u && M.log[0].offset == DEMON_CAP_STATUS_OFFSET && M.log[1].offset == DEMON_CAP_SEQ_OFFSET);
    for (i = 0; i < 4u; i++) CHECK(M.log[2u + i].offset == DEMON_CAP_DATA_ENTRY(i));
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_peek(&D, &seq), DEMON_OK);
    /* no cached state: a peek is CAP_STATUS and CAP_SEQ every time */
    CHECK(seq == 1u && M.nlog == 2u && M.log[0].offset == DEMON_CAP_STATUS_OFFSET && M.log[1].offset == DEMON_CAP_SEQ_OFFSET);
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_read(&D, NULL, codes, 64u), DEMON_OK);
    CHECK(codes[3] == -4 && M.nlog == 5u && M.log[0].offset == DEMON_CAP_STATUS_OFFSET);   /* N + 1 without seq */
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_discard(&D, &seq), DEMON_OK);
    CHECK(seq == 2u && M.nlog == 3u && M.log[0].offset == DEMON_CAP_STATUS_OFFSET
          && M.log[1].offset == DEMON_CAP_SEQ_OFFSET && M.log[2].offset == DEMON_CAP_DATA_ENTRY(3));
    CHECK(M.cap_count == 0u);
    CHECK_ST(demon_capture_discard(&D, NULL), DEMON_E_EMPTY);
    CHECK(M.cap_underflow == 0u);
    /* numbering continues after a drain */
    regmodel_accept(&M, x[0]);
    CHECK_ST(demon_capture_read(&D, NULL, codes, 4u), DEMON_OK);
    CHECK_ST(demon_capture_status(&D, &level, &ovf, &udf), DEMON_OK);
    CHECK(level == 0u && ovf == 0u && udf == 0u);
    /* overflow: reported, nothing removed, until cleared; then numbering restarts at 0 */
    for (i = 0; i < M.cap_depth + 2u; i++) regmodel_accept(&M, x[i % 3u]);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 64u), DEMON_E_OVERRUN);
    CHECK_ST(demon_capture_discard(&D, &seq), DEMON_E_OVERRUN);
    CHECK(M.cap_count == M.cap_depth);
    CHECK_ST(demon_capture_status(&D, &level, &ovf, NULL), DEMON_OK);
    CHECK(level == M.cap_depth && ovf == 1u);
    CHECK_ST(demon_capture_clear(&D), DEMON_OK);
    regmodel_accept(&M, x[2]);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 64u), DEMON_OK);
    CHECK(seq == 0u && codes[2] == 200);
    /* sign extension of narrow ADC codes (X_BITS = 10): -1 comes back as -1 */
    CHECK(codes[3] == -200);
}

static void set_mlp(regmodel_t *m);

/* A second handle on the same device (demon_init empties the FIFO): the first handle's next read
 * sees the hardware's state, never an old sample. */
static void test_second_handle_never_reads_stale_samples(void)
{
    int32_t x[4] = {7, -7, 70, -70};
    int32_t y[4] = {1, 2, 3, 4};
    int32_t codes[4];
    uint32_t seq = 99u;
    demon_dev_t other;
    fresh(NULL);
    regmodel_accept(&M, x);
    regmodel_accept(&M, x);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 4u), DEMON_OK);
    CHECK(seq == 0u && codes[2] == 70);
    memset(&other, 0, sizeof other);
    CHECK_ST(demon_init(&other, &M.host), DEMON_OK);     /* CAP_CLEAR: empty, numbering from 0 */
    CHECK_ST(demon_capture_read(&D, &seq, codes, 4u), DEMON_E_EMPTY);
    CHECK(M.cap_underflow == 0u);
    regmodel_accept(&M, y);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 4u), DEMON_OK);
    CHECK(seq == 0u && codes[0] == 1 && codes[3] == 4);   /* the new stream's first sample */
    /* the other handle started the unit: this one's coefficient writes are refused */
    CHECK_ST(demon_start(&other, 0u), DEMON_OK);
    {
        int32_t b[4] = {0, 0, 0, 0};
        regmodel_clear_log(&M);
        CHECK_ST(demon_load_vector(&D, b, 4u), DEMON_E_RUNNING);
        CHECK(regmodel_writes(&M) == 0u && M.nlog == 1u);   /* one CTRL read, no write */
        /* and a clear on this handle keeps the ENABLE the other one set */
        CHECK_ST(demon_clear_counters(&D), DEMON_OK);
        CHECK(M.enable == 1u && M.log[M.nlog - 1u].value == (DEMON_CTRL_ENABLE_MASK | DEMON_CTRL_CLEAR_MASK));
    }
}

/* Coefficients, layers and schedule rows are refused while ENABLE is set or a word is in flight. */
static void test_loads_refused_while_running(void)
{
    int32_t a[16];
    int32_t b[4] = {1, 2, 3, 4};
    uint32_t i;
    for (i = 0; i < 16u; i++) a[i] = (int32_t)i;
    fresh(NULL);
    CHECK_ST(demon_start(&D, 0u), DEMON_OK);
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_matrix(&D, a, 4u, 4u), DEMON_E_RUNNING);
    CHECK_ST(demon_load_vector(&D, b, 4u), DEMON_E_RUNNING);
    CHECK(regmodel_writes(&M) == 0u);
    for (i = 0; i < 16u; i++) CHECK(M.coef_a[i] == 0u);
    CHECK_ST(demon_stop(&D), DEMON_OK);
    M.status = DEMON_STATUS_BUSY_MASK;                 /* stopped, but a word still in flight */
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_matrix(&D, a, 4u, 4u), DEMON_E_RUNNING);
    CHECK(regmodel_writes(&M) == 0u && M.nlog == 2u);
    M.status = 0u;
    CHECK_ST(demon_load_matrix(&D, a, 4u, 4u), DEMON_OK);
    CHECK(regmodel_coef_a(&M, 15u) == 15);
    /* score network */
    fresh(set_mlp);
    CHECK_ST(demon_start(&D, 0u), DEMON_OK);
    {
        int32_t s3[3] = {0, 0, 0};
        uint32_t rows;
        uint32_t cols;
        int32_t w[64];
        int32_t bias[16];
        memset(w, 0, sizeof w);
        memset(bias, 0, sizeof bias);
        CHECK_ST(demon_load_schedule(&D, s3, s3, s3, w, 3u, 2u), DEMON_E_RUNNING);
        CHECK_ST(demon_mlp_layer_shape(&D, 0u, &rows, &cols), DEMON_OK);
        CHECK_ST(demon_load_mlp_layer(&D, 0u, w, rows, cols, bias, rows), DEMON_E_RUNNING);
    }
    CHECK(regmodel_writes(&M) == 1u);                  /* only the start */
}

/* UNDERFLOW (the FIFO read while empty, by anyone) is reported by every capture call, and no
 * CAP_DATA is read then; demon_capture_clear ends it. */
static void test_underflow_is_checked_on_every_read(void)
{
    int32_t x[4] = {5, 6, 7, 8};
    int32_t codes[8];
    uint32_t seq;
    uint32_t w;
    uint32_t count;
    fresh(NULL);
    /* someone (another reader) pops an empty FIFO */
    CHECK(M.host.read32(M.host.user, DEMON_CAP_DATA_ENTRY(3), &w) == REGMODEL_RESP_OKAY);
    CHECK(M.cap_underflow == 1u);
    regmodel_accept(&M, x);
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 4u), DEMON_E_UNDERFLOW);
    CHECK_ST(demon_capture_peek(&D, &seq), DEMON_E_UNDERFLOW);
    CHECK_ST(demon_capture_discard(&D, NULL), DEMON_E_UNDERFLOW);
    CHECK_ST(demon_capture_drain(&D, &seq, codes, 8u, 2u, &count), DEMON_E_UNDERFLOW);
    CHECK(count == 0u && M.nlog == 4u && M.cap_count == 1u);   /* four CAP_STATUS reads, nothing removed */
    CHECK_ST(demon_capture_clear(&D), DEMON_OK);
    regmodel_accept(&M, x);
    CHECK_ST(demon_capture_read(&D, &seq, codes, 4u), DEMON_OK);
    CHECK(seq == 0u && codes[3] == 8);
}

/* demon_capture_drain: every waiting sample (at most max), N reads each plus three, numbered
 * from CAP_SEQ, with a closing CAP_STATUS check. */
static void test_capture_drain(void)
{
    int32_t x[5][4];
    int32_t codes[4 * 8];
    uint32_t first = 99u;
    uint32_t count = 99u;
    uint32_t i;
    uint32_t j;
    for (i = 0; i < 5u; i++) {
        for (j = 0; j < 4u; j++) x[i][j] = (int32_t)(i * 10u + j) - 20;
    }
    fresh(NULL);
    CHECK_ST(demon_capture_drain(&D, &first, codes, 32u, 8u, &count), DEMON_E_EMPTY);
    CHECK(count == 0u);
    for (i = 0; i < 5u; i++) regmodel_accept(&M, x[i]);
    regmodel_clear_log(&M);
    CHECK_ST(demon_capture_drain(&D, &first, codes, 32u, 3u, &count), DEMON_OK);
    CHECK(first == 0u && count == 3u && M.nlog == 3u * 4u + 3u);
    CHECK(M.log[0].offset == DEMON_CAP_STATUS_OFFSET && M.log[1].offset == DEMON_CAP_SEQ_OFFSET
          && M.log[M.nlog - 1u].offset == DEMON_CAP_STATUS_OFFSET);
    for (i = 0; i < 3u; i++) {
        for (j = 0; j < 4u; j++) CHECK(codes[i * 4u + j] == x[i][j]);
    }
    CHECK_ST(demon_capture_drain(&D, &first, codes, 32u, 8u, &count), DEMON_OK);
    CHECK(first == 3u && count == 2u && codes[4] == x[4][0] && M.cap_count == 0u);
    CHECK_ST(demon_capture_drain(&D, &first, codes, 3u, 1u, &count), DEMON_E_SIZE);   /* codes_len < N */
    CHECK_ST(demon_capture_drain(&D, &first, codes, 32u, 0u, &count), DEMON_E_SIZE);
    CHECK_ST(demon_capture_drain(&D, NULL, codes, 32u, 1u, &count), DEMON_E_NULL);
}

/* demon_wait_idle: polls STATUS until BUSY and OUT_VALID are low, bounded by the platform clock
 * (here the host's virtual clock: one cycle per access). */
static void test_wait_idle_and_clock(void)
{
    uint32_t t0;
    uint32_t t1;
    fresh(NULL);
    CHECK_ST(demon_wait_idle(&D, 0u), DEMON_OK);
    CHECK(M.nlog == 1u && M.log[0].offset == DEMON_STATUS_OFFSET);
    M.status = DEMON_STATUS_OUT_VALID_MASK;            /* never goes idle */
    regmodel_clear_log(&M);
    CHECK_ST(demon_now(&D, &t0), DEMON_OK);
    /* reads at virtual times t0+1, t0+2, ...: the poll at t0+11 sees 11 > 10 cycles elapsed */
    CHECK_ST(demon_wait_idle(&D, 10u), DEMON_E_TIMEOUT);
    CHECK_ST(demon_now(&D, &t1), DEMON_OK);
    CHECK(M.nlog == 11u && t1 - t0 == 11u);
    CHECK_ST(demon_idle(&D, 1000u), DEMON_OK);
    CHECK_ST(demon_now(&D, &t1), DEMON_OK);
    CHECK(t1 - t0 == 1011u && M.delay_cycles == 1000u);
    CHECK_ST(demon_wait_idle(NULL, 1u), DEMON_E_NULL);
    CHECK_ST(demon_now(&D, NULL), DEMON_E_NULL);
}

/* Interrupt calls: IRQ_THRESHOLD then IRQ_ENABLE; write-1-to-clear; ranges; an instance of map
 * 1.2 has none (DEMON_E_UNSUPPORTED, no access). */
static int isr_calls;
static void count_isr(void *ctx)
{
    regmodel_t *m = (regmodel_t *)ctx;
    isr_calls++;
    m->irq_enable = 0u;          /* a handler that silences the source, as a real one would */
}

static void old_map(regmodel_t *m) { m->version = 0x00010002u; }

static void test_irq_calls(void)
{
    int32_t x[4] = {1, 2, 3, 4};
    uint32_t st = 99u;
    fresh(NULL);
    CHECK_ST(demon_irq_config(&D, DEMON_IRQ_CAP_LEVEL | DEMON_IRQ_CAP_OVERFLOW, 3u), DEMON_OK);
    CHECK(M.nlog == 2u && M.log[0].op == 'W' && M.log[0].offset == DEMON_IRQ_THRESHOLD_OFFSET && M.log[0].value == 3u
          && M.log[1].offset == DEMON_IRQ_ENABLE_OFFSET && M.log[1].value == 0x3u);
    regmodel_clear_log(&M);
    CHECK_ST(demon_irq_config(&D, 0x20u, 3u), DEMON_E_RANGE);
    CHECK_ST(demon_irq_config(&D, DEMON_IRQ_ALL, 0u), DEMON_E_RANGE);
    CHECK_ST(demon_irq_config(&D, DEMON_IRQ_ALL, M.cap_depth + 1u), DEMON_E_RANGE);
    CHECK_ST(demon_irq_set_threshold(&D, 0u), DEMON_E_RANGE);
    CHECK_ST(demon_irq_clear(&D, 0x40u), DEMON_E_RANGE);
    CHECK_ST(demon_irq_status(&D, NULL), DEMON_E_NULL);
    CHECK(M.nlog == 0u);
    /* stopped and idle: IDLE; two samples below the threshold of 3, the third raises CAP_LEVEL */
    CHECK_ST(demon_irq_status(&D, &st), DEMON_OK);
    CHECK(st == DEMON_IRQ_IDLE && M.log[0].offset == DEMON_IRQ_STATUS_OFFSET);
    regmodel_accept(&M, x);
    regmodel_accept(&M, x);
    CHECK_ST(demon_irq_status(&D, &st), DEMON_OK);
    CHECK((st & DEMON_IRQ_CAP_LEVEL) == 0u);
    regmodel_accept(&M, x);
    CHECK_ST(demon_irq_status(&D, &st), DEMON_OK);
    CHECK((st & DEMON_IRQ_CAP_LEVEL) != 0u);
    /* an SLVERR sets BUS_ERROR; clearing it is one write of the mask */
    {
        uint32_t v;
        CHECK(M.host.read32(M.host.user, 0x0054u, &v) != 0);
    }
    CHECK_ST(demon_irq_status(&D, &st), DEMON_OK);
    CHECK((st & DEMON_IRQ_BUS_ERROR) != 0u);
    regmodel_clear_log(&M);
    CHECK_ST(demon_irq_clear(&D, DEMON_IRQ_BUS_ERROR), DEMON_OK);
    CHECK(M.nlog == 1u && M.log[0].offset == DEMON_IRQ_STATUS_OFFSET && M.log[0].value == DEMON_IRQ_BUS_ERROR);
    CHECK((regmodel_irq_status(&M) & DEMON_IRQ_BUS_ERROR) == 0u);
    /* the ISR: taken at the next platform entry while the line is high, not re-entered */
    isr_calls = 0;
    CHECK_ST(demon_irq_attach(&D, count_isr, &M), DEMON_OK);
    CHECK(isr_calls == 0);                            /* attach makes no access */
    CHECK_ST(demon_irq_status(&D, &st), DEMON_OK);    /* the line is high (CAP_LEVEL enabled, 3 waiting) */
    CHECK(isr_calls == 1 && M.irq_enable == 0u);
    CHECK_ST(demon_wait_irq(&D, 300u), DEMON_E_TIMEOUT);   /* silenced: nothing more */
    CHECK(isr_calls == 1);
    CHECK_ST(demon_irq_attach(&D, NULL, NULL), DEMON_OK);
    /* an instance without the interrupt registers */
    fresh(old_map);
    CHECK_ST(demon_irq_config(&D, DEMON_IRQ_CAP_LEVEL, 1u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_irq_status(&D, &st), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_wait_irq(&D, 10u), DEMON_E_UNSUPPORTED);
    CHECK(M.nlog == 0u);
}

/* The interrupt-driven solve on the model: the same samples, the same sums as the polling solve. */
static void test_linear_solve_irq(void)
{
    enum { N = 4, BURN = 5, SAMPLES = 23, TOTAL = BURN + SAMPLES + 3 };
    static int32_t feed[TOTAL][N];
    int32_t a[N * N];
    int32_t b[N];
    demon_linear_solve_args_t args;
    static demon_linear_solve_result_t res;
    static demon_linear_solve_result_t polled;
    uint32_t i;
    uint32_t j;
    for (i = 0; i < TOTAL; i++) {
        for (j = 0; j < N; j++) feed[i][j] = (int32_t)((i * 41u + j * 13u) % 1024u) - 512;
    }
    for (i = 0; i < N * N; i++) a[i] = (int32_t)i * 7 - 50;
    for (i = 0; i < N; i++) b[i] = (int32_t)i * 300 - 400;
    memset(&args, 0, sizeof args);
    args.a = a;
    args.b = b;
    args.n = N;
    args.burn_in = BURN;
    args.samples = SAMPLES;
    args.inv_scale_q16 = 2 * 65536 + 777;
    args.idle_cycles = 400u;
    args.timeout_cycles = 100000u;
    fresh(NULL);
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 1u;
    CHECK_ST(demon_linear_solve(&D, &args, &polled), DEMON_OK);
    fresh(NULL);
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 1u;
    CHECK_ST(demon_linear_solve_irq(&D, &args, 4u, &res), DEMON_OK);
    CHECK(res.count == SAMPLES && res.discarded == BURN);
    for (j = 0; j < N; j++) {
        CHECK(res.sum[j] == polled.sum[j] && res.x_q16[j] == polled.x_q16[j]);
    }
    CHECK(M.enable == 0u && M.irq_enable == 0u && M.cap_underflow == 0u);
    CHECK(M.host.isr == NULL);                       /* detached at the end */
    CHECK_ST(demon_linear_solve_irq(&D, &args, 0u, &res), DEMON_E_RANGE);
    CHECK_ST(demon_linear_solve_irq(&D, &args, M.cap_depth + 1u, &res), DEMON_E_RANGE);
    /* nothing arrives: the sleep times out */
    fresh(NULL);
    args.timeout_cycles = 1000u;
    CHECK_ST(demon_linear_solve_irq(&D, &args, 4u, &res), DEMON_E_TIMEOUT);
    CHECK(M.enable == 0u && M.irq_enable == 0u && M.host.isr == NULL);
    /* an overflow is reported by the ISR */
    fresh(NULL);
    M.cap_depth = 4u;
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 10u;
    args.timeout_cycles = 100000u;
    CHECK_ST(demon_linear_solve_irq(&D, &args, 4u, &res), DEMON_E_OVERRUN);
}

static void test_bus_errors_stop_at_the_failing_access(void)
{
    int32_t a[16];
    int32_t codes[4];
    int32_t x[4] = {1, 2, 3, 4};
    uint32_t k;
    for (k = 0; k < 16u; k++) a[k] = (int32_t)k;
    for (k = 1; k <= 16u; k++) {
        fresh(NULL);
        M.fail_at = M.accesses + k;
        CHECK_ST(demon_load_matrix(&D, a, 4u, 4u), DEMON_E_BUS);
        CHECK(M.nlog == k);                        /* nothing after the failing write */
    }
    fresh(NULL);
    regmodel_accept(&M, x);
    M.fail_at = M.accesses + 3u;                   /* CAP_DATA[0] */
    CHECK_ST(demon_capture_read(&D, NULL, codes, 4u), DEMON_E_BUS);
    fresh(NULL);
    M.fail_at = M.accesses + 1u;
    CHECK_ST(demon_start(&D, 0u), DEMON_E_BUS);
    fresh(NULL);
    M.fail_at = M.accesses + 4u;
    {
        demon_counters_t c;
        CHECK_ST(demon_read_counters(&D, &c), DEMON_E_BUS);
    }
    /* a SLVERR from the slave is a bus error too: a model of N = 4 answers COEF_A[16] with SLVERR */
    fresh(NULL);
    D.info.n = 5u;                                 /* a driver that believed in a bigger instance */
    {
        int32_t big[25];
        memset(big, 0, sizeof big);
        CHECK_ST(demon_load_matrix(&D, big, 5u, 5u), DEMON_E_BUS);
        CHECK(M.log[M.nlog - 1u].resp == REGMODEL_RESP_SLVERR);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Score network                                                                               */

static void set_mlp(regmodel_t *m)
{
    uint32_t h[2] = {5u, 3u};
    regmodel_mlp(m, 2u, 2u, 2u, h);   /* layers: 5 x 4, 3 x 5, 2 x 3: 41 weights, 10 biases */
}

static void test_score_network_info_and_unit_checks(void)
{
    demon_info_t info;
    int32_t v[64];
    uint32_t rows;
    uint32_t cols;
    int32_t lo;
    int32_t hi;
    memset(v, 0, sizeof v);
    fresh(set_mlp);
    CHECK_ST(demon_info(&D, &info), DEMON_OK);
    CHECK(info.unit == DEMON_UNIT_MLP && info.layers == 2u && info.emb == 2u && info.activation == 1u);
    CHECK(info.hidden[0] == 5u && info.hidden[1] == 3u && info.hidden[2] == 0u);
    CHECK(info.weight_w == 16u && info.act_w == 16u && info.scale_w == 23u && info.ctrl_bits == 12u);
    CHECK(info.weight_frac == 11u && info.act_frac == 11u && info.scale_frac == 22u && info.sched_len == 16u);
    CHECK(info.bias_w == 14u && info.coef_w == 0u);
    /* the linear unit's calls: unsupported, no access */
    CHECK_ST(demon_load_matrix(&D, v, 2u, 2u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_load_vector(&D, v, 2u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_read_matrix(&D, v, 2u, 2u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_read_vector(&D, v, 2u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_coef_range(&D, 0u, &lo, &hi), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_coef_range(&D, 1u, &lo, &hi), DEMON_OK);
    CHECK(lo == -8192 && hi == 8191);
    CHECK(M.nlog == 0u);
    /* layer shapes: 5 x (N + E), 3 x 5, then the N scores from 3 */
    CHECK_ST(demon_mlp_layer_shape(&D, 0u, &rows, &cols), DEMON_OK);
    CHECK(rows == 5u && cols == 4u);
    CHECK_ST(demon_mlp_layer_shape(&D, 1u, &rows, &cols), DEMON_OK);
    CHECK(rows == 3u && cols == 5u);
    CHECK_ST(demon_mlp_layer_shape(&D, 2u, &rows, &cols), DEMON_OK);
    CHECK(rows == 2u && cols == 3u);
    CHECK_ST(demon_mlp_layer_shape(&D, 3u, &rows, &cols), DEMON_E_RANGE);
    CHECK_ST(demon_mlp_layer_shape(&D, 0u, NULL, &cols), DEMON_E_NULL);
    /* and the score network's calls on a linear instance */
    fresh(NULL);
    CHECK_ST(demon_mlp_layer_shape(&D, 0u, &rows, &cols), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_load_mlp_layer(&D, 0u, v, 1u, 1u, v, 1u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_read_mlp_layer(&D, 0u, v, 1u, 1u, v, 1u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_load_schedule(&D, v, v, v, v, 1u, 0u), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_step_reset(&D), DEMON_E_UNSUPPORTED);
    CHECK_ST(demon_read_step(&D, &rows), DEMON_E_UNSUPPORTED);
    CHECK(M.nlog == 0u);
}

static void test_score_network_layers(void)
{
    int32_t w[3][20];
    int32_t b[3][5];
    int32_t back_w[20];
    int32_t back_b[5];
    static const uint32_t rows[3] = {5u, 3u, 2u};
    static const uint32_t cols[3] = {4u, 5u, 3u};
    static const uint32_t w_base[3] = {0u, 20u, 35u};
    static const uint32_t b_base[3] = {0u, 5u, 8u};
    uint32_t l;
    uint32_t i;
    fresh(set_mlp);
    for (l = 0; l < 3u; l++) {
        for (i = 0; i < 20u; i++) w[l][i] = (int32_t)((l * 7919u + i * 104729u) % 65536u) - 32768;
        for (i = 0; i < 5u; i++) b[l][i] = (int32_t)((l * 31u + i * 2039u) % 16384u) - 8192;
    }
    w[0][0] = -32768;
    w[2][5] = 32767;
    b[1][0] = -8192;
    b[2][1] = 8191;
    for (l = 0; l < 3u; l++) {
        regmodel_clear_log(&M);
        CHECK_ST(demon_load_mlp_layer(&D, l, w[l], rows[l], cols[l], b[l], rows[l]), DEMON_OK);
        CHECK(opens_with_stop_check());
        CHECK(M.nlog == rows[l] * cols[l] + rows[l]);
        for (i = 0; i < rows[l] * cols[l] && i < M.nlog; i++) {
            CHECK(M.log[i].op == 'W' && M.log[i].offset == DEMON_MLP_W_OFFSET + 4u * (w_base[l] + i)
                  && M.log[i].value == word(w[l][i]) && M.log[i].resp == REGMODEL_RESP_OKAY);
        }
        for (i = 0; i < rows[l] && rows[l] * cols[l] + i < M.nlog; i++) {
            const regmodel_access_t *a = &M.log[rows[l] * cols[l] + i];
            CHECK(a->op == 'W' && a->offset == DEMON_MLP_B_OFFSET + 4u * (b_base[l] + i) && a->value == word(b[l][i]));
        }
    }
    for (l = 0; l < 3u; l++) {
        CHECK_ST(demon_read_mlp_layer(&D, l, back_w, rows[l], cols[l], back_b, rows[l]), DEMON_OK);
        CHECK(memcmp(back_w, w[l], rows[l] * cols[l] * sizeof(int32_t)) == 0);
        CHECK(memcmp(back_b, b[l], rows[l] * sizeof(int32_t)) == 0);
    }
    /* sizes, NULLs, the layer index and both formats: refused before any access */
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 3u, 4u, b[1], 3u), DEMON_E_SIZE);
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 5u, 3u, b[1], 5u), DEMON_E_SIZE);
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 3u, 5u, b[1], 2u), DEMON_E_SIZE);
    CHECK_ST(demon_load_mlp_layer(&D, 3u, w[1], 3u, 5u, b[1], 3u), DEMON_E_RANGE);
    CHECK_ST(demon_load_mlp_layer(&D, 1u, NULL, 3u, 5u, b[1], 3u), DEMON_E_NULL);
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 3u, 5u, NULL, 3u), DEMON_E_NULL);
    w[1][14] = 32768;
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 3u, 5u, b[1], 3u), DEMON_E_RANGE);
    w[1][14] = 0;
    b[1][2] = -8193;
    CHECK_ST(demon_load_mlp_layer(&D, 1u, w[1], 3u, 5u, b[1], 3u), DEMON_E_RANGE);
    CHECK(M.nlog == 0u);
}

static void set_mlp_table(regmodel_t *m)
{
    set_mlp(m);
    m->activation = 2u;
    m->table_bits = 3u;       /* 9 entries */
    m->table_frac = 13u;      /* Q(5,13): 18 bits */
}

static void test_activation_table(void)
{
    int32_t t[9] = {-131072, 131071, 0, 1, -1, 65536, -65536, 12345, -54321};
    demon_info_t info;
    uint32_t i;
    fresh(set_mlp_table);
    CHECK_ST(demon_info(&D, &info), DEMON_OK);
    CHECK(info.activation == 2u && info.table_bits == 3u && info.table_frac == 13u);
    CHECK_ST(demon_load_act_table(&D, t, 9u), DEMON_OK);
    /* CTRL and STATUS read first (a load is refused while the unit runs), then the 9 entries */
    CHECK(M.nlog == 11u);
    CHECK(M.log[0].op == 'R' && M.log[0].offset == DEMON_CTRL_OFFSET);
    CHECK(M.log[1].op == 'R' && M.log[1].offset == DEMON_STATUS_OFFSET);
    for (i = 0; i < 9u && i + 2u < M.nlog; i++) {
        CHECK(M.log[i + 2u].op == 'W' && M.log[i + 2u].offset == DEMON_ACT_TABLE_ENTRY(i)
              && M.log[i + 2u].value == word(t[i]));
        CHECK(M.log[i + 2u].resp == REGMODEL_RESP_OKAY);
    }
    /* refused without an access: wrong length, a value beyond 18 bits, NULL */
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_act_table(&D, t, 8u), DEMON_E_SIZE);
    t[4] = 131072;
    CHECK_ST(demon_load_act_table(&D, t, 9u), DEMON_E_RANGE);
    CHECK_ST(demon_load_act_table(&D, NULL, 9u), DEMON_E_NULL);
    CHECK(M.nlog == 0u);
    /* an instance without a table */
    fresh(set_mlp);
    CHECK_ST(demon_load_act_table(&D, t, 9u), DEMON_E_UNSUPPORTED);
    CHECK(M.nlog == 0u);
}

static void test_score_network_schedule_and_step(void)
{
    int32_t scale[3] = {-4194304, 4194303, 12345};      /* Q(1,22): 23 bits */
    int32_t drift[3] = {-2048, 2047, -7};               /* 12-bit controls */
    int32_t noise[3] = {0, 1, 2047};
    int32_t emb[6] = {-32768, 32767, 1, -1, 100, -100}; /* Q(5,11): 16 bits, 2 per row */
    uint32_t step;
    uint32_t i;
    int32_t x[2] = {0, 0};
    fresh(set_mlp);
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 2u), DEMON_OK);
    CHECK(opens_with_stop_check());
    CHECK(M.nlog == 3u + 3u + 3u + 6u + 1u);
    for (i = 0; i < 3u; i++) {
        CHECK(M.log[i].offset == DEMON_SCHED_SCALE_ENTRY(i) && M.log[i].value == word(scale[i]));
        CHECK(M.log[3u + i].offset == DEMON_SCHED_DRIFT_ENTRY(i) && M.log[3u + i].value == word(drift[i]));
        CHECK(M.log[6u + i].offset == DEMON_SCHED_NOISE_ENTRY(i) && M.log[6u + i].value == word(noise[i]));
    }
    for (i = 0; i < 6u; i++) {
        CHECK(M.log[9u + i].offset == DEMON_SCHED_EMB_ENTRY(i) && M.log[9u + i].value == word(emb[i]));
    }
    CHECK(M.log[15].op == 'W' && M.log[15].offset == DEMON_SCHED_K_OFFSET && M.log[15].value == 3u);
    for (i = 0; i < 16u; i++) CHECK(M.log[i].resp == REGMODEL_RESP_OKAY);
    /* refused without an access */
    regmodel_clear_log(&M);
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 0u, 2u), DEMON_E_SIZE);
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 17u, 2u), DEMON_E_SIZE);
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 1u), DEMON_E_SIZE);
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, NULL, 3u, 2u), DEMON_E_NULL);
    CHECK_ST(demon_load_schedule(&D, NULL, drift, noise, emb, 3u, 2u), DEMON_E_NULL);
    scale[1] = 4194304;
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 2u), DEMON_E_RANGE);
    scale[1] = 0;
    drift[2] = 2048;
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 2u), DEMON_E_RANGE);
    drift[2] = 0;
    noise[0] = -2049;
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 2u), DEMON_E_RANGE);
    noise[0] = 0;
    emb[5] = 32768;
    CHECK_ST(demon_load_schedule(&D, scale, drift, noise, emb, 3u, 2u), DEMON_E_RANGE);
    emb[5] = 0;
    CHECK(M.nlog == 0u);
    /* the step: advances per accepted sample, saturates at K-1, STEP_RESET (ENABLE kept) */
    CHECK_ST(demon_start(&D, DEMON_START_CLEAR_COUNTERS | DEMON_START_CLEAR_CAPTURE | DEMON_START_STEP_RESET), DEMON_OK);
    CHECK(M.log[0].offset == DEMON_CTRL_OFFSET && M.log[0].value == 0xFu);
    for (i = 0; i < 5u; i++) regmodel_accept(&M, x);
    CHECK_ST(demon_read_step(&D, &step), DEMON_OK);
    CHECK(step == 2u);
    CHECK_ST(demon_step_reset(&D), DEMON_OK);
    CHECK(M.log[M.nlog - 1u].value == (DEMON_CTRL_ENABLE_MASK | DEMON_CTRL_STEP_RESET_MASK));
    CHECK_ST(demon_read_step(&D, &step), DEMON_OK);
    CHECK(step == 0u);
    CHECK_ST(demon_read_step(&D, NULL), DEMON_E_NULL);
    /* no embedding (E = 0): emb may be NULL */
    {
        uint32_t h[1] = {4u};
        regmodel_init(&M);
        regmodel_mlp(&M, 3u, 0u, 1u, h);
        memset(&D, 0, sizeof D);
        CHECK_ST(demon_init(&D, &M.host), DEMON_OK);
        regmodel_clear_log(&M);
        CHECK_ST(demon_load_schedule(&D, scale, drift, noise, NULL, 2u, 0u), DEMON_OK);
        CHECK(opens_with_stop_check());
        CHECK(M.nlog == 7u && M.log[6].offset == DEMON_SCHED_K_OFFSET && M.log[6].value == 2u);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Programs                                                                                    */

/* floor((2p + q) / (2q)) for q > 0: round half up, computed independently of the programs. */
static int64_t ref_round_div(int64_t p, int64_t q)
{
    int64_t num = 2 * p + q;
    int64_t den = 2 * q;
    int64_t d = num / den;
    if ((num % den) != 0 && num < 0) d -= 1;
    return d;
}

static void test_linear_solve(void)
{
    enum { N = 4, BURN = 5, SAMPLES = 23, TOTAL = BURN + SAMPLES + 3 };
    static int32_t feed[TOTAL][N];
    int32_t a[N * N];
    int32_t b[N];
    demon_linear_solve_args_t args;
    static demon_linear_solve_result_t res;
    int64_t sum[N] = {0, 0, 0, 0};
    uint32_t i;
    uint32_t j;
    uint32_t ctrl_writes = 0u;
    for (i = 0; i < TOTAL; i++) {
        for (j = 0; j < N; j++) feed[i][j] = (int32_t)((i * 37u + j * 101u) % 1024u) - 512;
    }
    for (i = 0; i < N * N; i++) a[i] = (int32_t)i * 100 - 800;
    for (i = 0; i < N; i++) b[i] = -2048 + (int32_t)i * 1365;
    for (i = BURN; i < BURN + SAMPLES; i++) {
        for (j = 0; j < N; j++) sum[j] += feed[i][j];
    }
    fresh(NULL);
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 3u;
    memset(&args, 0, sizeof args);
    args.a = a;
    args.b = b;
    args.n = N;
    args.burn_in = BURN;
    args.samples = SAMPLES;
    args.inv_scale_q16 = 3 * 65536 + 12345;    /* 1/a = 3.188..., so x = mean / a */
    args.idle_cycles = 250u;
    args.timeout_cycles = 100000u;
    CHECK_ST(demon_linear_solve(&D, &args, &res), DEMON_OK);
    CHECK(res.count == SAMPLES && res.discarded == BURN);
    for (j = 0; j < N; j++) {
        int64_t m = ref_round_div(sum[j] * ((int64_t)1 << (31 - 10)), SAMPLES);
        CHECK(res.sum[j] == sum[j]);
        CHECK(res.mean_q30[j] == m);
        CHECK(res.x_q16[j] == (int32_t)ref_round_div(m * args.inv_scale_q16, (int64_t)1 << 30));
    }
    for (i = 0; i < N * N; i++) CHECK(regmodel_coef_a(&M, i) == a[i]);
    for (i = 0; i < N; i++) CHECK(regmodel_coef_b(&M, i) == b[i]);
    /* CTRL: stop, then start clearing counters and capture, then stop at the end */
    for (i = 0; i < M.nlog; i++) {
        if (M.log[i].op == 'W' && M.log[i].offset == DEMON_CTRL_OFFSET) {
            static const uint32_t want[] = {0x0u, 0x7u, 0x0u};
            CHECK(ctrl_writes < 3u && M.log[i].value == want[ctrl_writes]);
            ctrl_writes++;
        }
    }
    CHECK(ctrl_writes == 3u);
    CHECK(res.counters.in == M.cnt_in && res.counters.in >= BURN + SAMPLES);
    CHECK(res.empty_polls == M.delays && M.delay_cycles == 250u * M.delays);
    CHECK(M.cap_underflow == 0u && M.enable == 0u);

    /* argument errors: refused before any access */
    {
        int32_t bad_b[N];
        demon_linear_solve_args_t bad = args;
        fresh(NULL);
        bad.n = 3u;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_SIZE);
        bad = args;
        bad.samples = 0u;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        bad.samples = DEMON_PROG_MAX_SAMPLES + 1u;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        bad.inv_scale_q16 = 0;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        bad.burn_in = 0xFFFFFFFFu;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        memcpy(bad_b, b, sizeof bad_b);
        bad_b[N - 1] = 2048;                       /* b is Q(3,9): 12 bits, max 2047 */
        bad.b = bad_b;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        bad.a = NULL;
        CHECK_ST(demon_linear_solve(&D, &bad, &res), DEMON_E_NULL);
        CHECK_ST(demon_linear_solve(&D, &args, NULL), DEMON_E_NULL);
        CHECK(M.nlog == 0u);
    }
    /* nothing arrives: DEMON_E_TIMEOUT once the wait exceeds timeout_cycles on the host's virtual
     * clock (one cycle per access, plus the idle cycles). Each empty poll is one CAP_STATUS read;
     * the clock starts after the first: polls 2, 3, 4 see 251, 502, 753 cycles, so with a limit
     * of 750 the fourth poll times out after three idles. The input is stopped. */
    fresh(NULL);
    args.timeout_cycles = 750u;
    CHECK_ST(demon_linear_solve(&D, &args, &res), DEMON_E_TIMEOUT);
    CHECK(M.delays == 3u && M.enable == 0u);
    /* samples arrive faster than they are read: the FIFO overruns and the program says so */
    fresh(NULL);
    M.cap_depth = 4u;
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 10u;
    args.timeout_cycles = 100000u;
    CHECK_ST(demon_linear_solve(&D, &args, &res), DEMON_E_OVERRUN);
    CHECK(M.enable == 0u);
}

static void test_anneal(void)
{
    enum { N = 4, STAGES = 2, SETTLE = 2, PER = 6, TOTAL = 64 };
    static int32_t feed[TOTAL][N];
    int32_t a[N * N];
    int32_t b[N];
    int32_t work[N * N + N];
    int32_t beta[STAGES] = {65536, 2 * 65536 + 32768};   /* 1.0, 2.5 */
    uint32_t per[STAGES] = {PER, PER};
    demon_anneal_args_t args;
    static demon_anneal_result_t res;
    int32_t scaled[N * N];
    uint32_t i;
    uint32_t j;
    for (i = 0; i < TOTAL; i++) {
        for (j = 0; j < N; j++) feed[i][j] = (int32_t)((i * 53u + j * 29u) % 512u) - 256;
    }
    for (i = 0; i < N * N; i++) a[i] = (int32_t)i * 25 - 201;
    for (i = 0; i < N; i++) b[i] = (int32_t)i * 3 - 5;
    /* the stage scaling: RND(beta * v / 2^16), exact */
    CHECK_ST(demon_anneal_scale(a, N * N, beta[1], 12u, scaled), DEMON_OK);
    for (i = 0; i < N * N; i++) {
        CHECK(scaled[i] == (int32_t)ref_round_div((int64_t)a[i] * beta[1], 65536));
    }
    CHECK(scaled[0] == -502);                  /* -201 * 2.5 = -502.5, half up -> -502 */
    fresh(NULL);
    M.feed = &feed[0][0];
    M.feed_count = TOTAL;
    M.feed_per_delay = 4u;
    memset(&args, 0, sizeof args);
    args.a = a;
    args.b = b;
    args.n = N;
    args.stages = STAGES;
    args.beta_q16 = beta;
    args.stage_samples = per;
    args.settle = SETTLE;
    args.work = work;
    args.idle_cycles = 100u;
    args.timeout_cycles = 100000u;
    CHECK_ST(demon_anneal(&D, &args, &res), DEMON_OK);
    CHECK(res.count[0] == PER && res.count[1] == PER && res.count[2] == 0u);
    /* the last stage's coefficients are in the demon */
    for (i = 0; i < N * N; i++) CHECK(regmodel_coef_a(&M, i) == scaled[i]);
    /* stage 0 averages samples SETTLE .. SETTLE+PER-1 (nothing was captured before its start) */
    for (j = 0; j < N; j++) {
        int64_t s1 = 0;
        int64_t s2 = 0;
        int64_t m;
        for (i = SETTLE; i < SETTLE + PER; i++) {
            s1 += feed[i][j];
            s2 += (int64_t)feed[i][j] * feed[i][j];
        }
        m = ref_round_div(s1 * ((int64_t)1 << 21), PER);
        CHECK(res.mean_q30[0][j] == m);
        CHECK(res.var_q30[0][j] == ref_round_div(s2 * ((int64_t)1 << 12), PER) - ref_round_div(m * m, (int64_t)1 << 30));
        CHECK(res.var_q30[0][j] >= 0);
    }
    CHECK(M.enable == 0u);
    /* a stage whose scaled coefficients overflow their format: refused before any access */
    {
        int32_t huge[STAGES] = {65536, 40 * 65536};
        demon_anneal_args_t bad = args;
        fresh(NULL);
        bad.beta_q16 = huge;
        CHECK_ST(demon_anneal(&D, &bad, &res), DEMON_E_RANGE);
        bad = args;
        bad.stages = 0u;
        CHECK_ST(demon_anneal(&D, &bad, &res), DEMON_E_SIZE);
        bad.stages = DEMON_ANNEAL_MAX_STAGES + 1u;
        CHECK_ST(demon_anneal(&D, &bad, &res), DEMON_E_SIZE);
        bad = args;
        bad.work = NULL;
        CHECK_ST(demon_anneal(&D, &bad, &res), DEMON_E_NULL);
        CHECK(M.nlog == 0u);
    }
}

static void test_diffusion(void)
{
    enum { ROWS = 4, SAMPLES = 7 };
    static int32_t feed[SAMPLES + 3][2];
    int32_t w[41];
    int32_t b[10];
    int32_t scale[ROWS] = {100, -200, 300, 0};
    int32_t drift[ROWS] = {-5, 6, -7, 0};
    int32_t noise[ROWS] = {10, 20, 30, 0};
    int32_t emb[ROWS * 2] = {1, -1, 2, -2, 3, -3, 0, 0};
    demon_diffusion_args_t args;
    static demon_diffusion_result_t res;
    uint32_t i;
    uint32_t k;
    static const uint32_t layer_w[3] = {20u, 15u, 6u};
    static const uint32_t layer_b[3] = {5u, 3u, 2u};
    for (i = 0; i < SAMPLES + 3; i++) {
        feed[i][0] = (int32_t)(i * 97u % 1024u) - 512;
        feed[i][1] = -(int32_t)(i * 13u % 512u);
    }
    for (i = 0; i < 41u; i++) w[i] = (int32_t)(i * 1601u % 65536u) - 32768;
    for (i = 0; i < 10u; i++) b[i] = (int32_t)(i * 999u % 16384u) - 8192;
    fresh(set_mlp);
    M.feed = &feed[0][0];
    M.feed_count = SAMPLES;
    M.feed_per_delay = 3u;
    memset(&args, 0, sizeof args);
    args.weights = w;
    args.n_weights = 41u;
    args.biases = b;
    args.n_biases = 10u;
    args.scale = scale;
    args.drift = drift;
    args.noise = noise;
    args.emb = emb;
    args.rows = ROWS;
    args.samples = SAMPLES;
    args.idle_cycles = 400u;
    args.timeout_cycles = 100000u;
    CHECK_ST(demon_diffusion(&D, &args, &res), DEMON_OK);
    CHECK(res.final_seq == SAMPLES - 1u && res.discarded == SAMPLES - 1u);
    CHECK(res.final_codes[0] == feed[SAMPLES - 1][0] && res.final_codes[1] == feed[SAMPLES - 1][1]);
    CHECK(res.step == ROWS - 1u);                  /* saturated on the hold row */
    CHECK(res.counters.in == SAMPLES && M.enable == 0u && M.cap_underflow == 0u);
    /* the writes: CTRL stop, then each layer's weights and biases at their bases, the table, SCHED_K,
     * the start with every clear and the step reset */
    (void)regmodel_keep_writes(&M);
    {
        uint32_t at = 0u;
        uint32_t wo = 0u;
        uint32_t bo = 0u;
        CHECK(M.log[at].op == 'W' && M.log[at].offset == DEMON_CTRL_OFFSET && M.log[at].value == 0u);
        at++;
        for (k = 0; k < 3u; k++) {
            for (i = 0; i < layer_w[k]; i++, at++) {
                CHECK(M.log[at].offset == DEMON_MLP_W_ENTRY(wo + i) && M.log[at].value == word(w[wo + i]));
            }
            for (i = 0; i < layer_b[k]; i++, at++) {
                CHECK(M.log[at].offset == DEMON_MLP_B_ENTRY(bo + i) && M.log[at].value == word(b[bo + i]));
            }
            wo += layer_w[k];
            bo += layer_b[k];
        }
        CHECK(M.log[at].offset == DEMON_SCHED_SCALE_ENTRY(0));
        at += 3u * ROWS + 2u * ROWS;
        CHECK(M.log[at].offset == DEMON_SCHED_K_OFFSET && M.log[at].value == ROWS);
        at++;
        CHECK(M.log[at].offset == DEMON_CTRL_OFFSET && M.log[at].value == 0xFu);
    }
    /* refused before any access */
    {
        demon_diffusion_args_t bad = args;
        fresh(set_mlp);
        bad.n_weights = 40u;
        CHECK_ST(demon_diffusion(&D, &bad, &res), DEMON_E_SIZE);
        bad = args;
        bad.rows = 17u;
        CHECK_ST(demon_diffusion(&D, &bad, &res), DEMON_E_SIZE);
        bad = args;
        bad.emb = NULL;
        CHECK_ST(demon_diffusion(&D, &bad, &res), DEMON_E_NULL);
        bad = args;
        bad.samples = 0u;
        CHECK_ST(demon_diffusion(&D, &bad, &res), DEMON_E_RANGE);
        b[9] = 8192;                               /* the last layer's last bias, one past Q(2,12) */
        CHECK_ST(demon_diffusion(&D, &args, &res), DEMON_E_RANGE);
        b[9] = 0;
        emb[7] = -32769;
        CHECK_ST(demon_diffusion(&D, &args, &res), DEMON_E_RANGE);
        emb[7] = 0;
        CHECK(M.nlog == 0u);
        fresh(NULL);
        CHECK_ST(demon_diffusion(&D, &args, &res), DEMON_E_UNSUPPORTED);
        CHECK(M.nlog == 0u);
    }
}

static void test_struct_sizes_are_exported(void)
{
    CHECK(demon_programs_sizeof(DEMON_SIZEOF_LINEAR_SOLVE_ARGS) == sizeof(demon_linear_solve_args_t));
    CHECK(demon_programs_sizeof(DEMON_SIZEOF_LINEAR_SOLVE_RESULT) == sizeof(demon_linear_solve_result_t));
    CHECK(demon_programs_sizeof(DEMON_SIZEOF_ANNEAL_RESULT) == sizeof(demon_anneal_result_t));
    CHECK(demon_programs_sizeof(DEMON_SIZEOF_DEV) == sizeof(demon_dev_t));
    CHECK(demon_programs_sizeof(DEMON_SIZEOF_DIFFUSION_ARGS) == sizeof(demon_diffusion_args_t));
    CHECK(demon_programs_sizeof(99u) == 0u);
}

/* ------------------------------------------------------------------------------------------- */

/* "mlp n emb layers h1 h2 h3 weight_w bias_w", then every weight (layer by layer, row-major),
 * then every bias (layer by layer): load each layer with demon_load_mlp_layer. */
static int mlp_trace(void)
{
    unsigned n;
    unsigned emb;
    unsigned layers;
    unsigned h[3];
    unsigned weight_w;
    unsigned bias_w;
    static int32_t w[8192];
    static int32_t b[512];
    uint32_t nw;
    uint32_t nb;
    uint32_t i;
    uint32_t l;
    uint32_t wo = 0u;
    uint32_t bo = 0u;
    long v;
    demon_status_t st;
    if (scanf("%u %u %u %u %u %u %u %u", &n, &emb, &layers, &h[0], &h[1], &h[2], &weight_w, &bias_w) != 8
            || n < 1u || n > 64u || layers < 1u || layers > 3u || emb > 16u) {
        fprintf(stderr, "load-trace: expected \"mlp n emb layers h1 h2 h3 weight_w bias_w\"\n");
        return 2;
    }
    regmodel_init(&M);
    regmodel_mlp(&M, n, emb, layers, h);
    M.weight_int = 1u;
    M.weight_frac = weight_w - 1u;
    M.bias_int = 1u;
    M.bias_frac = bias_w - 1u;
    nw = regmodel_w_entries(&M);
    nb = regmodel_b_entries(&M);
    for (i = 0; i < nw + nb; i++) {
        if (scanf("%ld", &v) != 1) {
            fprintf(stderr, "load-trace: expected %u values\n", nw + nb);
            return 2;
        }
        if (i < nw) w[i] = (int32_t)v; else b[i - nw] = (int32_t)v;
    }
    memset(&D, 0, sizeof D);
    if ((st = demon_init(&D, &M.host)) != DEMON_OK) {
        printf("%s\n", demon_status_name(st));
        return 0;
    }
    regmodel_clear_log(&M);
    st = DEMON_OK;
    for (l = 0; l <= layers && st == DEMON_OK; l++) {
        uint32_t r;
        uint32_t c;
        st = demon_mlp_layer_shape(&D, l, &r, &c);
        if (st == DEMON_OK) st = demon_load_mlp_layer(&D, l, w + wo, r, c, b + bo, r);
        wo += r * c;
        bo += r;
    }
    printf("%s\n", demon_status_name(st));
    for (i = 0; i < M.nlog; i++) {
        printf("%c 0x%04X 0x%08X\n", M.log[i].op, (unsigned)M.log[i].offset, (unsigned)M.log[i].value);
    }
    return 0;
}

static int load_trace(void)
{
    unsigned n;
    unsigned coef_w;
    unsigned bias_w;
    static int32_t a[4096];
    static int32_t b[64];
    long v;
    uint32_t i;
    demon_status_t st;
    char kind[16];
    if (scanf("%15s", kind) != 1) {
        fprintf(stderr, "load-trace: expected \"linear\" or \"mlp\" first\n");
        return 2;
    }
    if (strcmp(kind, "mlp") == 0) {
        return mlp_trace();
    }
    if (scanf("%u %u %u", &n, &coef_w, &bias_w) != 3 || n < 1u || n > 64u || coef_w < 2u || coef_w > 32u
            || bias_w < 2u || bias_w > 32u) {
        fprintf(stderr, "load-trace: expected \"n coef_w bias_w\" on stdin\n");
        return 2;
    }
    for (i = 0; i < n * n + n; i++) {
        if (scanf("%ld", &v) != 1) {
            fprintf(stderr, "load-trace: expected %u values\n", n * n + n);
            return 2;
        }
        if (i < n * n) a[i] = (int32_t)v; else b[i - n * n] = (int32_t)v;
    }
    regmodel_init(&M);
    M.n = n;
    M.multipliers = 1u;
    M.coef_int = 1u;
    M.coef_frac = coef_w - 1u;
    M.bias_int = 1u;
    M.bias_frac = bias_w - 1u;
    memset(&D, 0, sizeof D);
    if ((st = demon_init(&D, &M.host)) != DEMON_OK) {
        printf("%s\n", demon_status_name(st));
        return 0;
    }
    regmodel_clear_log(&M);
    st = demon_load_matrix(&D, a, n, n);
    if (st == DEMON_OK) st = demon_load_vector(&D, b, n);
    printf("%s\n", demon_status_name(st));
    for (i = 0; i < M.nlog; i++) {
        printf("%c 0x%04X 0x%08X\n", M.log[i].op, (unsigned)M.log[i].offset, (unsigned)M.log[i].value);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--load-trace") == 0) {
        return load_trace();
    }
    test_status_names();
    test_init_reads_the_instance();
    test_init_errors();
    test_null_and_uninitialised_device();
    test_null_arguments();
    test_sizes_are_checked();
    test_fixed_point_ranges();
    test_coefficient_load_writes_and_read_back();
    test_control_writes();
    test_state_and_counters();
    test_capture();
    test_second_handle_never_reads_stale_samples();
    test_loads_refused_while_running();
    test_underflow_is_checked_on_every_read();
    test_capture_drain();
    test_wait_idle_and_clock();
    test_irq_calls();
    test_linear_solve_irq();
    test_bus_errors_stop_at_the_failing_access();
    test_score_network_info_and_unit_checks();
    test_score_network_layers();
    test_score_network_schedule_and_step();
    test_activation_table();
    test_linear_solve();
    test_anneal();
    test_diffusion();
    test_struct_sizes_are_exported();
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
