`default_nettype none
// demon_linear: the linear force unit f = b - A x, bit and cycle exact twin of
// emulator/demon/linear.py (LinearDemon, LinearDemonSpec).
//
// Formats (signed two's complement):
//   x  ADC code, X_BITS bits, read as Q(1, X_BITS-1)
//   A  Q(COEF_INT, COEF_FRAC), COEF_W = COEF_INT + COEF_FRAC bits
//   b  Q(BIAS_INT, BIAS_FRAC), BIAS_W = BIAS_INT + BIAS_FRAC bits
//   acc  ACC_FRAC = COEF_FRAC + X_BITS - 1 fractional bits, ACC_W bits (LinearDemonSpec.acc_width:
//        no input and no coefficient can overflow it)
//   f  DAC code, F_BITS bits, read as Q(1, F_BITS-1)
//
// Datapath, per output row r (exact until the one narrowing point):
//   acc_r = (b_r << B_SHIFT) - sum_c A[r][c] * x_c          B_SHIFT   = ACC_FRAC - BIAS_FRAC
//   f_r   = narrow(acc_r, OUT_SHIFT, F_BITS, ROUNDING, OVERFLOW)   OUT_SHIFT = ACC_FRAC - (F_BITS-1)
//
// Schedule: G = ceil(N / MULTIPLIERS) row groups. LANES = ceil(N / G) multiply-accumulate lanes
// are built (LANES <= MULTIPLIERS; more lanes could not shorten the schedule); lane l owns the
// contiguous rows l*G .. l*G + ROWS_l - 1 and computes row l*G + g during group g. One column per
// clock: group g, column c is MAC step k = g*N + c, so a word takes STEPS = N*G MAC cycles. The
// last column of each group is narrowed and registered in the same cycle (into lane l's output
// shift register); out_valid rises with the last step. Hence, exactly as the golden model:
//
//   latency (input handshake edge to output handshake edge, out_ready high) = N*G + 1
//   initiation interval (between accepted inputs, out_ready high)          = N*G + 1
//   in_ready = !busy && (!out_valid || out_ready)
//
// The output word holds while out_valid && !out_ready, and no new input is accepted meanwhile.
//
// Coefficient memory: each lane has one demon_bank for its rows of A (word g*N + c holds
// A[l*G + g][c]) and one for its entries of b (word g holds b[l*G + g]), synchronous-read block
// RAMs. Port B feeds the datapath: it is addressed one step ahead (the address of step k+1 is
// presented while step k runs; when idle, step 0), so the synchronous read adds no cycle to the
// schedule. Port A is the configuration port (cfg_*), driven by demon_axil: cfg_rdata returns,
// sign-extended to 32 bits, the entry addressed in the previous cycle. The memories have no
// reset: write every coefficient before enabling the input. A coefficient written while a word
// is being computed may or may not take part in it.
module demon_linear #(
    // Number of units (channels) n; 1..64.
    parameter integer N = 4,
    // Parallel multipliers P (rows computed at once); 1..N.
    parameter integer MULTIPLIERS = 4,
    // ADC code width (input x is Q(1, X_BITS-1)); 2..24.
    parameter integer X_BITS = 10,
    // DAC code width (output f is Q(1, F_BITS-1)); 2..24, F_BITS - 1 <= COEF_FRAC + X_BITS - 1.
    parameter integer F_BITS = 10,
    // Integer bits of A, sign included; >= 1, COEF_INT + COEF_FRAC in 2..32.
    parameter integer COEF_INT = 3,
    // Fractional bits of A; >= 0.
    parameter integer COEF_FRAC = 9,
    // Integer bits of b, sign included; >= 1, BIAS_INT + BIAS_FRAC in 2..32.
    parameter integer BIAS_INT = 3,
    // Fractional bits of b; 0..COEF_FRAC + X_BITS - 1.
    parameter integer BIAS_FRAC = 9,
    // Rounding of the output narrowing: 0 TRN, 1 RND, 2 RND_CONV.
    parameter integer ROUNDING = 0,
    // Overflow of the output narrowing: 0 SAT, 1 WRAP.
    parameter integer OVERFLOW = 0
) (
    input  wire                  clk,
    input  wire                  rst,          // synchronous, active high
    // input stream: ADC codes, channel j at in_data[j*X_BITS +: X_BITS]
    input  wire                  in_valid,
    output wire                  in_ready,
    input  wire [N*X_BITS-1:0]   in_data,
    // output stream: DAC codes, channel r at out_data[r*F_BITS +: F_BITS]
    output wire                  out_valid,
    input  wire                  out_ready,
    output wire [N*F_BITS-1:0]   out_data,
    output wire [6:0]            out_sat,      // channels of out_data that overflowed, 0..N
    output wire                  busy,         // a word is being computed
    // configuration port (port A of the coefficient memories)
    input  wire                  cfg_sel,      // 0: A, entry r*N + c; 1: b, entry r
    input  wire [11:0]           cfg_idx,      // entry index, < N*N (A) or < N (b)
    input  wire                  cfg_we,
    input  wire [3:0]            cfg_be,       // byte enables of cfg_wdata
    input  wire [31:0]           cfg_wdata,    // low COEF_W (A) or BIAS_W (b) bits are kept
    output wire [31:0]           cfg_rdata     // previous cycle's entry, sign-extended
);

    // ------------------------------------------------------------------------------------------
    // Derived constants
    // ------------------------------------------------------------------------------------------

    `include "demon_util.vh"

    // LinearDemonSpec.acc_width: bit_length(n << (xb-1 + cw-1) + 1 << (bw-1 + bs)) + 1.
    function integer acc_width;
        input integer n;
        input integer xb;
        input integer cw;
        input integer bw;
        input integer bs;
        reg [127:0] bound;
        integer k;
        begin
            bound = {96'd0, n[31:0]} << (xb - 1 + cw - 1);
            bound = bound + ({127'd0, 1'b1} << (bw - 1 + bs));
            acc_width = 1;
            for (k = 0; k < 128; k = k + 1) begin
                if (bound[k]) acc_width = k + 2;
            end
        end
    endfunction

    localparam integer COEF_W_RAW = COEF_INT + COEF_FRAC;
    localparam integer BIAS_W_RAW = BIAS_INT + BIAS_FRAC;
    // Widths clamped to 2..32 (equal to the raw ones whenever the parameters are legal).
    localparam integer COEF_W = (COEF_W_RAW < 2) ? 2 : (COEF_W_RAW > 32) ? 32 : COEF_W_RAW;
    localparam integer BIAS_W = (BIAS_W_RAW < 2) ? 2 : (BIAS_W_RAW > 32) ? 32 : BIAS_W_RAW;
    localparam integer ACC_FRAC = COEF_FRAC + X_BITS - 1;
    localparam integer B_SHIFT_RAW = ACC_FRAC - BIAS_FRAC;
    localparam integer OUT_SHIFT_RAW = ACC_FRAC - (F_BITS - 1);
    // Clamped copies keep illegal parameter sets elaborating far enough for the check below.
    localparam integer B_SHIFT = (B_SHIFT_RAW < 0) ? 0 : B_SHIFT_RAW;
    localparam integer OUT_SHIFT = (OUT_SHIFT_RAW < 0) ? 0 : OUT_SHIFT_RAW;
    localparam integer ACC_W = acc_width(N, X_BITS, COEF_W, BIAS_W, B_SHIFT);
    // N and MULTIPLIERS clamped to >= 1, so that illegal values still elaborate far enough for
    // the parameter check below to report them.
    localparam integer N_S = (N < 1) ? 1 : N;
    localparam integer P_S = (MULTIPLIERS < 1) ? 1 : MULTIPLIERS;
    localparam integer G = (N_S + P_S - 1) / P_S;                 // row groups, ceil(N/P)
    localparam integer LANES = (N_S + G - 1) / G;                 // lanes built, ceil(N/G)
    localparam integer STEPS = N_S * G;                           // MAC cycles per word
    localparam integer STEP_W = clog2_1(STEPS);
    localparam integer COL_W = clog2_1(N);
    localparam integer GRP_W = clog2_1(G);
    localparam integer LANE_W = clog2_1(LANES);
    localparam integer STEPS_M1 = STEPS - 1;
    localparam integer N_M1 = N_S - 1;
    localparam [STEP_W-1:0] STEP_LAST = STEPS_M1[STEP_W-1:0];
    localparam [COL_W-1:0] COL_LAST = N_M1[COL_W-1:0];

    // Every constraint below holds; otherwise no lane is built (so that the datapath's widths
    // stay legal expressions) and the check reports the first violated constraint.
    localparam LEGAL = N >= 1 && N <= 64 && MULTIPLIERS >= 1 && MULTIPLIERS <= N
                    && X_BITS >= 2 && X_BITS <= 24 && F_BITS >= 2 && F_BITS <= 24
                    && COEF_INT >= 1 && COEF_FRAC >= 0 && COEF_W_RAW >= 2 && COEF_W_RAW <= 32
                    && BIAS_INT >= 1 && BIAS_FRAC >= 0 && BIAS_W_RAW >= 2 && BIAS_W_RAW <= 32
                    && B_SHIFT_RAW >= 0 && OUT_SHIFT_RAW >= 0 && ACC_W <= 62
                    && ROUNDING >= 0 && ROUNDING <= 2 && OVERFLOW >= 0 && OVERFLOW <= 1;
    localparam integer LANES_BUILT = LEGAL ? LANES : 0;

    initial begin
        if (N < 1 || N > 64) begin
            $error("%m: N must be 1..64, got %0d", N);
            $finish;
        end
        if (MULTIPLIERS < 1 || MULTIPLIERS > N) begin
            $error("%m: MULTIPLIERS must be 1..N=%0d, got %0d", N, MULTIPLIERS);
            $finish;
        end
        if (X_BITS < 2 || X_BITS > 24) begin
            $error("%m: X_BITS must be 2..24, got %0d", X_BITS);
            $finish;
        end
        if (F_BITS < 2 || F_BITS > 24) begin
            $error("%m: F_BITS must be 2..24, got %0d", F_BITS);
            $finish;
        end
        if (COEF_INT < 1 || COEF_FRAC < 0 || COEF_W_RAW < 2 || COEF_W_RAW > 32) begin
            $error("%m: coefficient format Q(%0d,%0d) needs COEF_INT >= 1, COEF_FRAC >= 0, width 2..32",
                   COEF_INT, COEF_FRAC);
            $finish;
        end
        if (BIAS_INT < 1 || BIAS_FRAC < 0 || BIAS_W_RAW < 2 || BIAS_W_RAW > 32) begin
            $error("%m: bias format Q(%0d,%0d) needs BIAS_INT >= 1, BIAS_FRAC >= 0, width 2..32",
                   BIAS_INT, BIAS_FRAC);
            $finish;
        end
        if (B_SHIFT_RAW < 0) begin
            $error("%m: BIAS_FRAC=%0d must be <= COEF_FRAC + X_BITS - 1 = %0d", BIAS_FRAC, ACC_FRAC);
            $finish;
        end
        if (OUT_SHIFT_RAW < 0) begin
            $error("%m: F_BITS - 1 = %0d must be <= COEF_FRAC + X_BITS - 1 = %0d", F_BITS - 1, ACC_FRAC);
            $finish;
        end
        if (ACC_W > 62) begin
            $error("%m: the accumulator would need %0d bits (max 62)", ACC_W);
            $finish;
        end
        if (ROUNDING < 0 || ROUNDING > 2) begin
            $error("%m: ROUNDING must be 0 (TRN), 1 (RND) or 2 (RND_CONV), got %0d", ROUNDING);
            $finish;
        end
        if (OVERFLOW < 0 || OVERFLOW > 1) begin
            $error("%m: OVERFLOW must be 0 (SAT) or 1 (WRAP), got %0d", OVERFLOW);
            $finish;
        end
    end

    // ------------------------------------------------------------------------------------------
    // Control: handshake and step counters
    // ------------------------------------------------------------------------------------------

    reg               busy_q;
    reg               out_valid_q;
    reg [STEP_W-1:0]  step;      // MAC step performed at the next clock edge (while busy)
    reg [COL_W-1:0]   col;       // its column
    reg [GRP_W-1:0]   grp;       // its row group

    wire accept = in_valid && in_ready;
    wire col_last = (col == COL_LAST);
    wire step_last = (step == STEP_LAST);
    wire mac = busy_q;
    wire row_end = mac && col_last;      // last column of a group: narrow and register
    wire word_end = mac && step_last;    // last column of the last group: out_valid next

    assign in_ready = !busy_q && (!out_valid_q || out_ready);
    assign out_valid = out_valid_q;
    assign busy = busy_q;

    always @(posedge clk) begin
        if (rst) begin
            busy_q <= 1'b0;
            out_valid_q <= 1'b0;
            step <= {STEP_W{1'b0}};
            col <= {COL_W{1'b0}};
            grp <= {GRP_W{1'b0}};
        end else begin
            if (out_valid_q && out_ready) begin
                out_valid_q <= 1'b0;
            end
            if (accept) begin
                busy_q <= 1'b1;
            end else if (word_end) begin
                busy_q <= 1'b0;
                out_valid_q <= 1'b1;
                step <= {STEP_W{1'b0}};
                col <= {COL_W{1'b0}};
                grp <= {GRP_W{1'b0}};
            end else if (mac) begin
                step <= step + 1'b1;
                if (col_last) begin
                    col <= {COL_W{1'b0}};
                    grp <= grp + 1'b1;
                end else begin
                    col <= col + 1'b1;
                end
            end
        end
    end

    // Memory read addresses for the step after the one in progress (step 0 when idle or on the
    // last step), so that port B's registered output holds step k's operands while step k runs.
    wire [STEP_W-1:0] rd_step = (mac && !step_last) ? step + 1'b1 : {STEP_W{1'b0}};
    wire [GRP_W-1:0]  rd_grp = (mac && !step_last) ? (col_last ? grp + 1'b1 : grp) : {GRP_W{1'b0}};

    // ------------------------------------------------------------------------------------------
    // Input register: rotates one channel per MAC step, so channel `col` is always at the bottom
    // and after N steps (one group) it is back in place.
    // ------------------------------------------------------------------------------------------

    reg [N_S*X_BITS-1:0] x_q;
    wire [X_BITS-1:0] x_col = x_q[X_BITS-1:0];

    generate
        if (N <= 1) begin : g_x1
            always @(posedge clk) begin
                if (accept) x_q <= in_data;
            end
        end else begin : g_xn
            always @(posedge clk) begin
                if (accept) begin
                    x_q <= in_data;
                end else if (mac) begin
                    x_q <= {x_q[X_BITS-1:0], x_q[N_S*X_BITS-1:X_BITS]};
                end
            end
        end
    endgenerate

    // ------------------------------------------------------------------------------------------
    // Configuration port: which lane and word hold entry cfg_idx. Comparisons against constant
    // lane boundaries replace a divider.
    // ------------------------------------------------------------------------------------------

    // Lane owning entry idx when each lane holds `span` consecutive entries.
    function [LANE_W-1:0] lane_of;
        input [11:0]  idx;
        input integer span;
        integer k;
        begin
            lane_of = {LANE_W{1'b0}};
            for (k = 1; k < LANES; k = k + 1) begin
                if ({20'd0, idx} >= k * span) lane_of = k[LANE_W-1:0];
            end
        end
    endfunction

    wire [LANE_W-1:0] a_lane = lane_of(cfg_idx, G * N);   // A: lane l holds entries l*G*N ..
    wire [LANE_W-1:0] b_lane = lane_of(cfg_idx, G);       // b: lane l holds entries l*G ..
    // Entry offsets within a lane are < G*N <= 2^STEP_W (A) and < G <= 2^GRP_W (b) by
    // construction, so only their low bits address the bank.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] a_off = {20'd0, cfg_idx} - {{(32 - LANE_W){1'b0}}, a_lane} * (G * N);
    wire [31:0] b_off = {20'd0, cfg_idx} - {{(32 - LANE_W){1'b0}}, b_lane} * G;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [STEP_W-1:0] a_word = a_off[STEP_W-1:0];
    wire [GRP_W-1:0]  b_word = b_off[GRP_W-1:0];

    reg              cfg_sel_q;
    reg [LANE_W-1:0] cfg_lane_q;
    always @(posedge clk) begin
        cfg_sel_q <= cfg_sel;
        cfg_lane_q <= cfg_sel ? b_lane : a_lane;
    end

    wire [LANES*COEF_W-1:0] a_cfg_all;
    wire [LANES*BIAS_W-1:0] b_cfg_all;
    wire [COEF_W-1:0] a_cfg = a_cfg_all[cfg_lane_q*COEF_W +: COEF_W];
    wire [BIAS_W-1:0] b_cfg = b_cfg_all[cfg_lane_q*BIAS_W +: BIAS_W];
    assign cfg_rdata = cfg_sel_q ? {{(33 - BIAS_W){b_cfg[BIAS_W-1]}}, b_cfg[BIAS_W-2:0]}
                                 : {{(33 - COEF_W){a_cfg[COEF_W-1]}}, a_cfg[COEF_W-2:0]};

    // Bits of cfg_wdata above the coefficient width, and the byte enables beyond it, are ignored
    // by design (writes keep the low bits); the `unused` name tells Verilator so.
    wire unused_cfg = ^{cfg_wdata, cfg_be};

    // ------------------------------------------------------------------------------------------
    // Lanes
    // ------------------------------------------------------------------------------------------

    wire [LANES-1:0] ovf_lane;   // lane's row overflowed (meaningful in a row_end cycle)

    genvar l;
    generate
        for (l = 0; l < LANES_BUILT; l = l + 1) begin : g_lane
            // Rows owned by this lane: l*G .. l*G + ROWS - 1.
            localparam integer ROWS = (N - l * G < G) ? N - l * G : G;
            localparam [GRP_W:0] ROWS_W = ROWS[GRP_W:0];

            wire [COEF_W-1:0] a_rd;   // A[l*G + grp][col]
            wire [BIAS_W-1:0] b_rd;   // b[l*G + grp]

            demon_bank #(
                .WIDTH(COEF_W),
                .ADDR_W(STEP_W)
            ) u_a (
                .clk(clk),
                .a_we(cfg_we && !cfg_sel && a_lane == l),
                .a_be(cfg_be[(COEF_W+7)/8-1:0]),
                .a_addr(a_word),
                .a_wdata(cfg_wdata[COEF_W-1:0]),   // low COEF_W bits of the bus word (regmap: WRAP)
                .a_rdata(a_cfg_all[l*COEF_W +: COEF_W]),
                .b_addr(rd_step),
                .b_rdata(a_rd)
            );

            demon_bank #(
                .WIDTH(BIAS_W),
                .ADDR_W(GRP_W)
            ) u_b (
                .clk(clk),
                .a_we(cfg_we && cfg_sel && b_lane == l),
                .a_be(cfg_be[(BIAS_W+7)/8-1:0]),
                .a_addr(b_word),
                .a_wdata(cfg_wdata[BIAS_W-1:0]),   // low BIAS_W bits of the bus word (regmap: WRAP)
                .a_rdata(b_cfg_all[l*BIAS_W +: BIAS_W]),
                .b_addr(rd_grp),
                .b_rdata(b_rd)
            );

            // Exact products and sums: ACC_W holds every partial sum (LinearDemonSpec.acc_width).
            // The signed operands are extended to ACC_W by the expression width, so this is the
            // exact COEF_W x X_BITS product, sign-extended.
            wire [ACC_W-1:0] prod_ext = $signed(a_rd) * $signed(x_col);
            wire [ACC_W-1:0] b_ext = {{(ACC_W - BIAS_W + 1){b_rd[BIAS_W-1]}}, b_rd[BIAS_W-2:0]};
            reg  [ACC_W-1:0] acc_q;
            wire [ACC_W-1:0] acc_base = (col == {COL_W{1'b0}}) ? (b_ext << B_SHIFT) : acc_q;
            wire [ACC_W-1:0] acc_nx = acc_base - prod_ext;

            always @(posedge clk) begin
                if (mac) acc_q <= acc_nx;
            end

            // Operand isolation: the narrowing logic sees the accumulator only in the cycle that
            // registers its result (the last column of a group) and a constant otherwise, so it
            // does not toggle on the other N-1 columns (power; simulators evaluate it once a row).
            wire [ACC_W-1:0] acc_row = row_end ? acc_nx : {ACC_W{1'b0}};

            wire [F_BITS-1:0] f_nx;
            wire              f_ovf;
            demon_narrow #(
                .IN_W(ACC_W),
                .SHIFT(OUT_SHIFT),
                .OUT_W(F_BITS),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_narrow (
                .a(acc_row),
                .y(f_nx),     // ROUNDING (TRN/RND/RND_CONV), OVERFLOW (SAT/WRAP)
                .ovf(f_ovf)
            );

            wire row_ok = ({1'b0, grp} < ROWS_W);
            assign ovf_lane[l] = f_ovf && row_ok;

            // Output rows of this lane: a shift register, the newest row enters at the top, so
            // after ROWS groups word g holds row l*G + g.
            reg [ROWS*F_BITS-1:0] f_q;
            if (ROWS == 1) begin : g_one
                always @(posedge clk) begin
                    if (row_end && row_ok) f_q <= f_nx;
                end
            end else begin : g_shift
                always @(posedge clk) begin
                    if (row_end && row_ok) f_q <= {f_nx, f_q[ROWS*F_BITS-1:F_BITS]};
                end
            end
            assign out_data[l*G*F_BITS +: ROWS*F_BITS] = f_q;
        end
    endgenerate

    // ------------------------------------------------------------------------------------------
    // Overflow count of the word: per group a popcount over the lanes, summed over the groups.
    // ------------------------------------------------------------------------------------------

    // Number of ones of v (v changes only in row_end cycles, see the operand isolation above).
    function [6:0] popcount;
        input [LANES-1:0] v;
        integer k;
        begin
            popcount = 7'd0;
            for (k = 0; k < LANES; k = k + 1) begin
                popcount = popcount + {6'd0, v[k]};
            end
        end
    endfunction

    wire [6:0] sat_grp = popcount(ovf_lane);

    reg [6:0] sat_run;   // overflows in the finished groups of the word in progress
    reg [6:0] sat_q;     // overflows of the word on out_data
    always @(posedge clk) begin
        if (accept) begin
            sat_run <= 7'd0;
        end else if (row_end) begin
            sat_run <= sat_run + sat_grp;
        end
        if (word_end) begin
            sat_q <= sat_run + sat_grp;
        end
    end
    assign out_sat = sat_q;

endmodule

`resetall
