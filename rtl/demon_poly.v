`default_nettype none
// demon_poly: the polynomial (Ising) force unit, bit and cycle exact twin of
// emulator/demon/polynomial.py (PolynomialDemon, PolySpec):
//
//   f_i = g[k] * (b_i - sum_j J_ij x_j) + h_i[k] - (2 a_i[k] x_i + 4 c_i[k] x_i^3)
//
// The couplings are the linear unit, reused as it is: demon_linear (J in COEF_A, b in COEF_B)
// with F_BITS = LIN_BITS = min(24, COEF_FRAC + X_BITS) computes L = b - J x in Q(1, LIN_BITS-1).
// The polynomial stage then takes one unit per clock:
//
//   X3  = narrow(X^3, 2(X_BITS-1), X_BITS, ROUNDING, SAT)                   x^3 in Q(1, X_BITS-1)
//   acc = g*L + (h << (LIN_BITS-1)) - (a*X << (SH+1)) - (c*X3 << (SH+2))   SH = LIN_BITS - X_BITS, exact
//   f   = narrow(acc, OUT_SHIFT, F_BITS, ROUNDING, OVERFLOW)        OUT_SHIFT = SCALE_FRAC + LIN_BITS - F_BITS
//
// with g, a, c, h raw Q(SCALE_INT, SCALE_FRAC) from the schedule row k, and ACC_W =
// SCALE_W + LIN_BITS + 2 bits (no input or coefficient can overflow it).
//
// Schedule: four banks POLY_A[k*N+i], POLY_C[k*N+i], POLY_H[k*N+i], POLY_G[k]; SCHED_K rows in use
// (0 acts as 1, above SCHED_LEN as SCHED_LEN); each row held for `dwell` accepted words (0 acts
// as 1). An accepted word latches row = min(step, K-1); after `dwell` words the step advances,
// saturating at K-1; step_reset (CTRL.STEP_RESET) zeroes the step and the dwell count at that
// edge (a word accepted at the same edge uses the old row).
//
// Timing (not pipelined: a word is accepted only when the whole unit is idle):
//   latency = initiation interval = N*ceil(N/MULTIPLIERS) + 1 + N + 1
//   in_ready = linear idle && its output empty && stage idle && (!out_valid || out_ready)
// out_sat counts the linear unit's narrowings of the word plus the N final ones.
module demon_poly #(
    // Number of units n; 1..64.
    parameter integer N = 4,
    // Parallel multipliers of the linear unit; 1..N.
    parameter integer MULTIPLIERS = 4,
    // ADC code width (x is Q(1, X_BITS-1)); 2..20.
    parameter integer X_BITS = 10,
    // DAC code width (f is Q(1, F_BITS-1)); 2..24, F_BITS - 1 <= SCALE_FRAC + LIN_BITS - 1.
    parameter integer F_BITS = 10,
    // Couplings J: Q(COEF_INT, COEF_FRAC); COEF_INT >= 1, COEF_FRAC >= 0, width 2..32.
    parameter integer COEF_INT = 2,
    parameter integer COEF_FRAC = 12,
    // Static bias b: Q(BIAS_INT, BIAS_FRAC); BIAS_INT >= 1, 0 <= BIAS_FRAC <= COEF_FRAC + X_BITS - 1.
    parameter integer BIAS_INT = 2,
    parameter integer BIAS_FRAC = 12,
    // Schedule entries g, a, c, h: Q(SCALE_INT, SCALE_FRAC); SCALE_INT >= 1, SCALE_FRAC >= 0, width 2..32.
    parameter integer SCALE_INT = 6,
    parameter integer SCALE_FRAC = 12,
    // Schedule rows; 1..64 and SCHED_LEN * N <= 960.
    parameter integer SCHED_LEN = 16,
    // Rounding of every narrowing: 0 TRN, 1 RND, 2 RND_CONV.
    parameter integer ROUNDING = 2,
    // Overflow of the linear and final narrowings: 0 SAT, 1 WRAP (the cube always saturates).
    parameter integer OVERFLOW = 0
) (
    input  wire                  clk,
    input  wire                  rst,          // synchronous, active high
    input  wire                  in_valid,
    output wire                  in_ready,
    input  wire [N*X_BITS-1:0]   in_data,
    output wire                  out_valid,
    input  wire                  out_ready,
    output wire [N*F_BITS-1:0]   out_data,
    output wire [9:0]            out_sat,      // overflowed narrowings of the word on out_data
    output wire                  busy,
    output wire [15:0]           latency,      // = initiation interval (TIMING)
    input  wire                  step_reset,   // CTRL.STEP_RESET
    input  wire [15:0]           sched_k,      // SCHED_K
    input  wire [15:0]           dwell,        // POLY_DWELL
    output wire [15:0]           step,         // STEP
    // configuration port: 0 COEF_A, 1 COEF_B, 2 POLY_A, 3 POLY_C, 4 POLY_H, 5 POLY_G
    input  wire [2:0]            cfg_tgt,
    input  wire [12:0]           cfg_idx,
    input  wire                  cfg_we,
    input  wire [3:0]            cfg_be,
    input  wire [31:0]           cfg_wdata,
    output wire [31:0]           cfg_rdata
);

    `include "demon_util.vh"

    localparam integer LIN_RAW = COEF_FRAC + X_BITS;
    localparam integer LB = (LIN_RAW > 24) ? 24 : (LIN_RAW < 2) ? 2 : LIN_RAW;
    localparam integer SW_RAW = SCALE_INT + SCALE_FRAC;
    localparam integer SW = (SW_RAW < 2) ? 2 : (SW_RAW > 32) ? 32 : SW_RAW;
    localparam integer XB = (X_BITS < 2) ? 2 : (X_BITS > 20) ? 20 : X_BITS;
    localparam integer SH = (LB - XB < 0) ? 0 : LB - XB;
    // SW + LB + 2 whenever the parameters are legal (F_BITS <= SCALE_FRAC + LB); the max keeps
    // illegal sets elaborating far enough for the check below to report them.
    localparam integer ACC_W = (SW + LB + 2 > F_BITS + 2) ? SW + LB + 2 : F_BITS + 2;
    localparam integer OUT_SHIFT_RAW = SCALE_FRAC + LB - F_BITS;
    localparam integer OUT_SHIFT = (OUT_SHIFT_RAW < 0) ? 0 : OUT_SHIFT_RAW;
    localparam integer N_S = (N < 1) ? 1 : N;
    localparam integer G = (N_S + ((MULTIPLIERS < 1) ? 1 : MULTIPLIERS) - 1) / ((MULTIPLIERS < 1) ? 1 : MULTIPLIERS);
    localparam integer LAT = N_S * G + 1 + N_S + 1;
    localparam integer LEN = (SCHED_LEN < 1) ? 1 : (SCHED_LEN > 64) ? 64 : SCHED_LEN;
    localparam integer ROW_AW = clog2_1(LEN);
    localparam integer ENT_AW = clog2_1(LEN * N_S);
    localparam integer U_W = clog2_1(N_S);
    localparam [15:0] LEN16 = LEN[15:0];
    localparam [15:0] N16 = N_S[15:0];
    localparam integer N_M1 = N_S - 1;
    localparam [U_W-1:0] U_LAST = N_M1[U_W-1:0];

    initial begin
        if (X_BITS < 2 || X_BITS > 20) begin
            $error("%m: X_BITS must be 2..20 for the polynomial unit, got %0d", X_BITS);
            $finish;
        end
        if (SCALE_INT < 1 || SCALE_FRAC < 0 || SW_RAW < 2 || SW_RAW > 32) begin
            $error("%m: schedule format Q(%0d,%0d) needs SCALE_INT >= 1, SCALE_FRAC >= 0, width 2..32",
                   SCALE_INT, SCALE_FRAC);
            $finish;
        end
        if (SCHED_LEN < 1 || SCHED_LEN > 64 || SCHED_LEN * N > 960) begin
            $error("%m: SCHED_LEN must be 1..64 with SCHED_LEN * N <= 960, got %0d (N=%0d)", SCHED_LEN, N);
            $finish;
        end
        if (OUT_SHIFT_RAW < 0) begin
            $error("%m: F_BITS - 1 = %0d must be <= SCALE_FRAC + LIN_BITS - 1 = %0d", F_BITS - 1, SCALE_FRAC + LB - 1);
            $finish;
        end
    end

    assign latency = LAT[15:0];

    // ------------------------------------------------------------------------------------------
    // The linear unit: L = b - J x
    // ------------------------------------------------------------------------------------------

    reg              p_busy;       // polynomial stage running
    reg              out_valid_q;
    wire             lin_in_ready;
    wire             lin_out_valid;
    wire [N*LB-1:0]  lin_out;
    wire [6:0]       lin_sat;
    wire             lin_busy;
    wire [31:0]      lin_cfg_rdata;
    wire             lin_take = lin_out_valid && !p_busy && !out_valid_q;

    assign in_ready = lin_in_ready && !lin_busy && !lin_out_valid && !p_busy && (!out_valid_q || out_ready);
    wire accept = in_valid && in_ready;

    demon_linear #(
        .N(N),
        .MULTIPLIERS(MULTIPLIERS),
        .X_BITS(X_BITS),
        .F_BITS(LB),
        .COEF_INT(COEF_INT),
        .COEF_FRAC(COEF_FRAC),
        .BIAS_INT(BIAS_INT),
        .BIAS_FRAC(BIAS_FRAC),
        .ROUNDING(ROUNDING),
        .OVERFLOW(OVERFLOW)
    ) u_linear (
        .clk(clk),
        .rst(rst),
        .in_valid(accept),
        .in_ready(lin_in_ready),
        .in_data(in_data),
        .out_valid(lin_out_valid),
        .out_ready(lin_take),
        .out_data(lin_out),
        .out_sat(lin_sat),
        .busy(lin_busy),
        .cfg_sel(cfg_tgt == 3'd1),
        .cfg_idx(cfg_idx[11:0]),          // < N*N <= 4096
        .cfg_we(cfg_we && cfg_tgt <= 3'd1),
        .cfg_be(cfg_be),
        .cfg_wdata(cfg_wdata),
        .cfg_rdata(lin_cfg_rdata)
    );

    // ------------------------------------------------------------------------------------------
    // Step counter with dwell
    // ------------------------------------------------------------------------------------------

    wire [15:0] k_last = (sched_k == 16'd0) ? 16'd0 : (sched_k > LEN16) ? LEN16 - 16'd1 : sched_k - 16'd1;
    wire [15:0] dwell_m1 = (dwell == 16'd0) ? 16'd0 : dwell - 16'd1;
    reg  [15:0] step_q;
    reg  [15:0] cnt_q;             // words accepted in the current row
    wire        at_end = (step_q >= k_last);
    wire [15:0] row = at_end ? k_last : step_q;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] row_base = row * N16;     // < SCHED_LEN * N <= 960
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [ROW_AW-1:0] row_q;
    reg  [ENT_AW-1:0] row_base_q;

    always @(posedge clk) begin
        if (rst || step_reset) begin
            step_q <= 16'd0;
            cnt_q <= 16'd0;
        end else if (accept) begin
            if (cnt_q >= dwell_m1) begin
                cnt_q <= 16'd0;
                step_q <= at_end ? k_last : step_q + 16'd1;
            end else begin
                cnt_q <= cnt_q + 16'd1;
            end
        end
        if (rst) begin
            row_q <= {ROW_AW{1'b0}};
            row_base_q <= {ENT_AW{1'b0}};
        end else if (accept) begin
            row_q <= row[ROW_AW-1:0];
            row_base_q <= row_base[ENT_AW-1:0];
        end
    end
    assign step = step_q;

    // ------------------------------------------------------------------------------------------
    // Polynomial stage: one unit per clock
    // ------------------------------------------------------------------------------------------

    reg  [U_W-1:0]     u_q;          // unit computed at the next edge (while p_busy)
    reg  [N*XB-1:0]    x_q;          // the word's ADC codes, rotated one unit per step
    reg  [N*LB-1:0]    l_q;          // L, rotated likewise
    reg  [6:0]         lin_sat_q;
    reg  [6:0]         sat_run;
    reg  [9:0]         sat_q;
    reg  [N*F_BITS-1:0] f_q;

    wire u_last = (u_q == U_LAST);
    wire [U_W-1:0] u_next = p_busy ? u_q + 1'b1 : {U_W{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] ent_addr = {{(16 - ENT_AW){1'b0}}, row_base_q} + {{(16 - U_W){1'b0}}, u_next};
    /* verilator lint_on UNUSEDSIGNAL */

    wire [SW-1:0] a_rd, c_rd, h_rd, g_rd;
    wire [SW-1:0] a_cfg, c_cfg, h_cfg, g_cfg;
    wire [ENT_AW-1:0] cfg_ent = cfg_idx[ENT_AW-1:0];   // < SCHED_LEN*N (demon_axil checks)
    wire [ROW_AW-1:0] cfg_row = cfg_idx[ROW_AW-1:0];   // < SCHED_LEN

    demon_bank #(.WIDTH(SW), .ADDR_W(ENT_AW)) u_a (
        .clk(clk), .a_we(cfg_we && cfg_tgt == 3'd2), .a_be(cfg_be[(SW+7)/8-1:0]), .a_addr(cfg_ent),
        .a_wdata(cfg_wdata[SW-1:0]),      // low SCALE_W bits of the bus word (regmap: WRAP)
        .a_rdata(a_cfg), .b_addr(ent_addr[ENT_AW-1:0]), .b_rdata(a_rd));
    demon_bank #(.WIDTH(SW), .ADDR_W(ENT_AW)) u_c (
        .clk(clk), .a_we(cfg_we && cfg_tgt == 3'd3), .a_be(cfg_be[(SW+7)/8-1:0]), .a_addr(cfg_ent),
        .a_wdata(cfg_wdata[SW-1:0]),      // low SCALE_W bits (WRAP)
        .a_rdata(c_cfg), .b_addr(ent_addr[ENT_AW-1:0]), .b_rdata(c_rd));
    demon_bank #(.WIDTH(SW), .ADDR_W(ENT_AW)) u_h (
        .clk(clk), .a_we(cfg_we && cfg_tgt == 3'd4), .a_be(cfg_be[(SW+7)/8-1:0]), .a_addr(cfg_ent),
        .a_wdata(cfg_wdata[SW-1:0]),      // low SCALE_W bits (WRAP)
        .a_rdata(h_cfg), .b_addr(ent_addr[ENT_AW-1:0]), .b_rdata(h_rd));
    demon_bank #(.WIDTH(SW), .ADDR_W(ROW_AW)) u_g (
        .clk(clk), .a_we(cfg_we && cfg_tgt == 3'd5), .a_be(cfg_be[(SW+7)/8-1:0]), .a_addr(cfg_row),
        .a_wdata(cfg_wdata[SW-1:0]),      // low SCALE_W bits (WRAP)
        .a_rdata(g_cfg), .b_addr(row_q), .b_rdata(g_rd));

    wire [XB-1:0] x_u = x_q[XB-1:0];
    wire [LB-1:0] l_u = l_q[LB-1:0];

    // x^3, exact in 3*XB bits, then narrowed to Q(1, XB-1) (it cannot overflow: |x^3| <= |x|).
    wire [3*XB-1:0] x3_full = $signed(x_u) * $signed(x_u) * $signed(x_u);
    wire [XB-1:0]   x3;
    /* verilator lint_off UNUSEDSIGNAL */
    wire            x3_ovf;
    /* verilator lint_on UNUSEDSIGNAL */
    demon_narrow #(.IN_W(3 * XB), .SHIFT(2 * (XB - 1)), .OUT_W(XB), .ROUNDING(ROUNDING), .OVERFLOW(0)) u_cube (
        .a(x3_full), .y(x3), .ovf(x3_ovf));   // ROUNDING, SAT

    // Exact terms, sign-extended to ACC_W by the expression width.
    wire [ACC_W-1:0] gl  = $signed(g_rd) * $signed(l_u);
    wire [ACC_W-1:0] ax  = $signed(a_rd) * $signed(x_u);
    wire [ACC_W-1:0] cx3 = $signed(c_rd) * $signed(x3);
    wire [ACC_W-1:0] h_ext = {{(ACC_W - SW + 1){h_rd[SW-1]}}, h_rd[SW-2:0]};
    wire [ACC_W-1:0] acc = gl + (h_ext << (LB - 1)) - (ax << (SH + 1)) - (cx3 << (SH + 2));
    wire [ACC_W-1:0] acc_iso = p_busy ? acc : {ACC_W{1'b0}};

    wire [F_BITS-1:0] f_nx;
    wire              f_ovf;
    demon_narrow #(.IN_W(ACC_W), .SHIFT(OUT_SHIFT), .OUT_W(F_BITS), .ROUNDING(ROUNDING), .OVERFLOW(OVERFLOW)) u_narrow (
        .a(acc_iso), .y(f_nx), .ovf(f_ovf));  // ROUNDING, OVERFLOW

    always @(posedge clk) begin
        if (rst) begin
            p_busy <= 1'b0;
            out_valid_q <= 1'b0;
            u_q <= {U_W{1'b0}};
        end else begin
            if (out_valid_q && out_ready) begin
                out_valid_q <= 1'b0;
            end
            if (lin_take) begin
                p_busy <= 1'b1;
                u_q <= {U_W{1'b0}};
            end else if (p_busy) begin
                if (u_last) begin
                    p_busy <= 1'b0;
                    out_valid_q <= 1'b1;
                end
                u_q <= u_q + 1'b1;
            end
        end
    end

    generate
        if (N_S == 1) begin : g_one
            always @(posedge clk) begin
                if (accept) x_q <= in_data[XB-1:0];
                if (lin_take) l_q <= lin_out;
                if (p_busy) f_q <= f_nx;
            end
        end else begin : g_many
            always @(posedge clk) begin
                if (accept) x_q <= in_data;
                else if (p_busy) x_q <= {x_q[XB-1:0], x_q[N*XB-1:XB]};
                if (lin_take) l_q <= lin_out;
                else if (p_busy) l_q <= {l_q[LB-1:0], l_q[N*LB-1:LB]};
                if (p_busy) f_q <= {f_nx, f_q[N*F_BITS-1:F_BITS]};
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (lin_take) begin
            lin_sat_q <= lin_sat;
            sat_run <= 7'd0;
        end else if (p_busy) begin
            sat_run <= sat_run + {6'd0, f_ovf};
            if (u_last) sat_q <= {3'd0, lin_sat_q} + {3'd0, sat_run} + {9'd0, f_ovf};
        end
    end

    assign out_valid = out_valid_q;
    assign out_data = f_q;
    assign out_sat = sat_q;
    assign busy = lin_busy || lin_out_valid || p_busy;

    // Configuration reads: the entry addressed in the previous cycle, sign-extended.
    reg [2:0] cfg_tgt_q;
    always @(posedge clk) begin
        cfg_tgt_q <= cfg_tgt;
    end
    wire [SW-1:0] p_cfg = (cfg_tgt_q == 3'd2) ? a_cfg : (cfg_tgt_q == 3'd3) ? c_cfg
                        : (cfg_tgt_q == 3'd4) ? h_cfg : g_cfg;
    assign cfg_rdata = (cfg_tgt_q <= 3'd1) ? lin_cfg_rdata : {{(33 - SW){p_cfg[SW-1]}}, p_cfg[SW-2:0]};

    wire unused_poly = ^{cfg_idx[12], cfg_wdata};

endmodule

`resetall
