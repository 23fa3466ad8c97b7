`default_nettype none
// demon_mlp: the score-network force unit, a time-conditioned MLP whose output is scaled by a
// step schedule; bit and cycle exact twin of emulator/demon/mlp.py (MLPDemon, MLPSpec), whose
// docstring is the full statement of the arithmetic. In short (Q(m, f): m integer bits with the
// sign, f fractional bits):
//
//   x      ADC codes, Q(1, X_BITS-1); emb[k], hidden units and the score: Q(ACT_INT, ACT_FRAC)
//   op     operand format Q(ACT_INT, OP_FRAC), OP_FRAC = max(X_BITS-1, ACT_FRAC): x enters as
//          x << X_SHIFT, activations and the embedding as a << ACT_SHIFT (exact)
//   acc_l  = (b_l << B_SHIFT) + W_l a_{l-1}, exact in ACC_W bits (MLPSpec.acc_width)
//   h_l    = narrow(acc_l, REQ_SHIFT, ACT_W, ROUNDING, OVERFLOW); a_l = act(h_l) (ReLU or hard-tanh)
//   s      = narrow(acc_L, REQ_SHIFT, ACT_W, ROUNDING, OVERFLOW)       (no activation)
//   F_j    = narrow(force_scale[k] * s_j, FORCE_SHIFT, F_BITS, ROUNDING, OVERFLOW)
//   out    = {noise_ctrl[k], drift_ctrl[k], F_{N-1}, ..., F_0}: channel j at [j*F_BITS +: F_BITS],
//            drift at [N*F_BITS +: CTRL_BITS], noise at [N*F_BITS + CTRL_BITS +: CTRL_BITS]
//
// Engine. P = MULTIPLIERS lanes, each one multiplier and one accumulator. Layer l (0 = the input
// layer, LAYERS = the output layer) has IN_l inputs and OUT_l outputs and runs G_l = ceil(OUT_l/P)
// row groups; in group g lane p computes row g*P + p, one input per clock (all lanes see the same
// operand), so the layer takes IN_l * G_l cycles. The last input of a group is added, narrowed,
// activated and written in the same cycle: hidden units into an activation buffer (two buffers,
// ping-pong between layers), scores into the lane's score shift register. Then the force pass
// multiplies the N scores by force_scale[k] on the same P multipliers, ceil(N/P) cycles (lane p
// takes channel f*P + p in cycle f), and registers the output word in its last cycle. Hence,
// exactly as MLPSpec predicts:
//
//   latency (input handshake edge to output handshake edge, out_ready high)
//       = sum_l IN_l * ceil(OUT_l / P) + ceil(N / P) + 1
//   initiation interval = latency;  in_ready = !busy && (!out_valid || out_ready)
//
// The output word holds while out_valid && !out_ready; a sample offered while in_ready is low is
// not taken (demon_top counts it as a drop) and does not advance the step counter.
//
// Memories. Weights: lane p has one demon_bank holding, in MAC-step order, the rows it computes
// (word = global MAC step: the step counter addresses every lane's bank at once). Biases: lane p's
// bank holds, per global row group, the bias of its row. Both are read one step ahead through port
// B (step 0 while idle) so the synchronous read costs no cycle. Port A is the configuration port:
// MLP_W entry i (layer by layer, row-major W_l[r][c]) and MLP_B entry j (layer by layer) are
// placed by comparisons against constant row boundaries (no divider). The schedule table, the
// step counter and the time embedding are demon_sched (instance u_sched). No memory is reset:
// write the network and the table before enabling the input; a weight written while a word is in
// flight may or may not take part in it.
//
// The overflow flags of every narrowing (hidden units, scores, forces; rows and channels that
// exist only) are summed per word and presented on out_sat with the word (demon_top adds them to
// CNT_SAT on delivery); an activation clipping to its rails is not an overflow.
module demon_mlp #(
    // Units (channels) n: inputs and outputs of the network; 1..64.
    parameter integer N = 4,
    // Time-embedding inputs E (from the schedule table); 0..16.
    parameter integer EMB = 2,
    // Hidden layers; 1..3.
    parameter integer LAYERS = 1,
    // Units of hidden layer 1; 1..128.
    parameter integer HIDDEN1 = 8,
    // Units of hidden layer 2 (used when LAYERS >= 2); 1..128.
    parameter integer HIDDEN2 = 8,
    // Units of hidden layer 3 (used when LAYERS = 3); 1..128.
    parameter integer HIDDEN3 = 8,
    // ADC code width (x is Q(1, X_BITS-1)); 2..24.
    parameter integer X_BITS = 10,
    // DAC code width (F is Q(1, F_BITS-1)); 2..24, F_BITS-1 <= SCALE_FRAC + ACT_FRAC.
    parameter integer F_BITS = 10,
    // Width of the two analog control codes (Q(1, CTRL_BITS-1)); 2..16.
    parameter integer CTRL_BITS = 8,
    // Integer bits of the weights, sign included; >= 1, WEIGHT_INT + WEIGHT_FRAC in 2..32.
    parameter integer WEIGHT_INT = 3,
    // Fractional bits of the weights; >= 0.
    parameter integer WEIGHT_FRAC = 8,
    // Integer bits of the biases, sign included; >= 1, BIAS_INT + BIAS_FRAC in 2..32.
    parameter integer BIAS_INT = 4,
    // Fractional bits of the biases; 0..WEIGHT_FRAC + max(X_BITS-1, ACT_FRAC).
    parameter integer BIAS_FRAC = 8,
    // Integer bits of the activations (and embedding, score), sign included; >= 1 (>= 2 for
    // hard-tanh), ACT_INT + ACT_FRAC in 2..24.
    parameter integer ACT_INT = 4,
    // Fractional bits of the activations; >= 0.
    parameter integer ACT_FRAC = 8,
    // Integer bits of force_scale, sign included; >= 1, SCALE_INT + SCALE_FRAC in 2..32.
    parameter integer SCALE_INT = 4,
    // Fractional bits of force_scale; >= 0.
    parameter integer SCALE_FRAC = 8,
    // Activation of the hidden layers: 0 ReLU, 1 hard-tanh, 2 table (ACT_TABLE, linear interpolation).
    parameter integer ACTIVATION = 0,
    // ACTIVATION = 2: log2 of the table's segments over the act range; 1..min(8, ACT_W-1).
    parameter integer TABLE_BITS = 6,
    // ACTIVATION = 2: fractional bits of the entries, Q(ACT_INT, TABLE_FRAC); ACT_FRAC..24-ACT_INT.
    parameter integer TABLE_FRAC = 12,
    // Parallel multipliers P (lanes); 1..the widest layer (max of N and the hidden sizes).
    parameter integer MULTIPLIERS = 4,
    // Schedule table capacity in rows; 1..512, SCHED_LEN * EMB <= 1024.
    parameter integer SCHED_LEN = 16,
    // Rounding of every narrowing: 0 TRN, 1 RND, 2 RND_CONV.
    parameter integer ROUNDING = 0,
    // Overflow of every narrowing: 0 SAT, 1 WRAP.
    parameter integer OVERFLOW = 0
) (
    input  wire                            clk,
    input  wire                            rst,          // synchronous, active high
    // input stream: ADC codes, channel j at in_data[j*X_BITS +: X_BITS]
    input  wire                            in_valid,
    output wire                            in_ready,
    input  wire [N*X_BITS-1:0]             in_data,
    // output stream: n DAC codes then drift_ctrl, noise_ctrl (see the header)
    output wire                            out_valid,
    input  wire                            out_ready,
    output wire [N*F_BITS+2*CTRL_BITS-1:0] out_data,
    output wire [9:0]                      out_sat,      // narrowings of out_data's word that overflowed
    output wire                            busy,         // a word is being computed
    // constants for the register map
    output wire [15:0]                     latency,      // latency = initiation interval (TIMING)
    output wire [13:0]                     w_entries,    // MLP_W entries held
    output wire [9:0]                      b_entries,    // MLP_B entries held
    // schedule control
    input  wire                            step_reset,   // CTRL.STEP_RESET pulse
    input  wire [15:0]                     sched_k,      // SCHED_K: rows in use
    output wire [15:0]                     step,         // STEP: the row the next word uses
    // configuration port (port A of the memories)
    input  wire [2:0]                      cfg_tgt,      // 0 MLP_W, 1 MLP_B, 2 SCALE, 3 DRIFT, 4 NOISE, 5 EMB, 6 TABLE
    input  wire [12:0]                     cfg_idx,      // entry index (range checked by demon_axil)
    input  wire                            cfg_we,
    input  wire [3:0]                      cfg_be,       // byte enables of cfg_wdata
    input  wire [31:0]                     cfg_wdata,    // low bits of the entry's width are kept
    output wire [31:0]                     cfg_rdata     // previous cycle's entry, sign-extended
);

    // ------------------------------------------------------------------------------------------
    // Derived constants
    // ------------------------------------------------------------------------------------------

    `include "demon_util.vh"

    function integer imax;
        input integer a;
        input integer b;
        begin
            imax = (a > b) ? a : b;
        end
    endfunction

    // Parameters clamped to their legal ranges, so that illegal sets elaborate far enough for the
    // check below to report them (equal to the parameters whenever those are legal).
    localparam integer N_S = (N < 1) ? 1 : (N > 64) ? 64 : N;
    localparam integer E_S = (EMB < 0) ? 0 : (EMB > 16) ? 16 : EMB;
    localparam integer L_S = (LAYERS < 1) ? 1 : (LAYERS > 3) ? 3 : LAYERS;
    localparam integer H1_S = (HIDDEN1 < 1) ? 1 : (HIDDEN1 > 128) ? 128 : HIDDEN1;
    localparam integer H2_S = (HIDDEN2 < 1) ? 1 : (HIDDEN2 > 128) ? 128 : HIDDEN2;
    localparam integer H3_S = (HIDDEN3 < 1) ? 1 : (HIDDEN3 > 128) ? 128 : HIDDEN3;
    localparam integer P_S = (MULTIPLIERS < 1) ? 1 : (MULTIPLIERS > 128) ? 128 : MULTIPLIERS;
    localparam integer NL = L_S + 1;                          // layers with weights

    // Layer l's inputs and outputs (l = 0 .. NL-1; 1 for l >= NL).
    function integer hid;
        input integer k;
        begin
            hid = (k == 0) ? H1_S : (k == 1) ? H2_S : H3_S;
        end
    endfunction
    function integer lay_in;
        input integer l;
        begin
            lay_in = (l >= NL) ? 1 : (l == 0) ? N_S + E_S : hid(l - 1);
        end
    endfunction
    function integer lay_out;
        input integer l;
        begin
            lay_out = (l >= NL) ? 1 : (l == NL - 1) ? N_S : hid(l);
        end
    endfunction
    function integer lay_grp;
        input integer l;
        begin
            lay_grp = (lay_out(l) + P_S - 1) / P_S;
        end
    endfunction
    // First global MAC step, global row group, MLP_W entry and MLP_B entry of layer l.
    function integer step_base;
        input integer l;
        integer j;
        begin
            step_base = 0;
            for (j = 0; j < l; j = j + 1) step_base = step_base + lay_in(j) * lay_grp(j);
        end
    endfunction
    function integer grp_base;
        input integer l;
        integer j;
        begin
            grp_base = 0;
            for (j = 0; j < l; j = j + 1) grp_base = grp_base + lay_grp(j);
        end
    endfunction
    function integer w_base;
        input integer l;
        integer j;
        begin
            w_base = 0;
            for (j = 0; j < l; j = j + 1) w_base = w_base + lay_in(j) * lay_out(j);
        end
    endfunction
    function integer b_base;
        input integer l;
        integer j;
        begin
            b_base = 0;
            for (j = 0; j < l; j = j + 1) b_base = b_base + lay_out(j);
        end
    endfunction

    localparam integer HMAX = imax(H1_S, (L_S >= 2) ? imax(H2_S, (L_S >= 3) ? H3_S : 1) : 1);
    localparam integer MAX_IN = imax(N_S + E_S, HMAX);
    localparam integer WIDEST = imax(N_S, HMAX);
    localparam integer STEPS = step_base(NL);                  // MAC cycles per word
    localparam integer GROUPS = grp_base(NL);                  // row groups per word
    localparam integer GF = (N_S + P_S - 1) / P_S;             // force-pass cycles
    localparam integer W_ENTRIES = w_base(NL);
    localparam integer B_ENTRIES = b_base(NL);
    localparam integer HAS_T = (ACTIVATION == 2) ? 1 : 0;
    localparam integer LATENCY = STEPS + GF + 1 + HAS_T * L_S;    // a table costs a cycle per hidden layer
    // Activation buffer depth: every row index a hidden layer's lanes can produce.
    localparam integer BUF_D = ((HMAX + P_S - 1) / P_S) * P_S;

    // Formats.
    localparam integer W_W_RAW = WEIGHT_INT + WEIGHT_FRAC;
    localparam integer B_W_RAW = BIAS_INT + BIAS_FRAC;
    localparam integer A_W_RAW = ACT_INT + ACT_FRAC;
    localparam integer S_W_RAW = SCALE_INT + SCALE_FRAC;
    localparam integer W_W = (W_W_RAW < 2) ? 2 : (W_W_RAW > 32) ? 32 : W_W_RAW;
    localparam integer B_W = (B_W_RAW < 2) ? 2 : (B_W_RAW > 32) ? 32 : B_W_RAW;
    localparam integer ACT_W = (A_W_RAW < 2) ? 2 : (A_W_RAW > 24) ? 24 : A_W_RAW;
    localparam integer S_W = (S_W_RAW < 2) ? 2 : (S_W_RAW > 32) ? 32 : S_W_RAW;
    localparam integer XB = (X_BITS < 2) ? 2 : (X_BITS > 24) ? 24 : X_BITS;
    localparam integer FB = (F_BITS < 2) ? 2 : (F_BITS > 24) ? 24 : F_BITS;
    localparam integer AF = (ACT_FRAC < 0) ? 0 : (ACT_FRAC > 23) ? 23 : ACT_FRAC;
    localparam integer AI = ACT_W - AF;
    localparam integer OP_FRAC = imax(XB - 1, AF);
    localparam integer OP_W = AI + OP_FRAC;                     // operand width
    localparam integer X_SHIFT = OP_FRAC - (XB - 1);
    localparam integer ACT_SHIFT = OP_FRAC - AF;
    localparam integer WF = (WEIGHT_FRAC < 0) ? 0 : WEIGHT_FRAC;
    localparam integer ACC_FRAC = WF + OP_FRAC;
    localparam integer B_SHIFT_RAW = ACC_FRAC - BIAS_FRAC;
    localparam integer B_SHIFT = (B_SHIFT_RAW < 0) ? 0 : B_SHIFT_RAW;
    localparam integer REQ_SHIFT = ACC_FRAC - AF;
    localparam integer FORCE_SHIFT_RAW = SCALE_FRAC + ACT_FRAC - (F_BITS - 1);
    localparam integer FORCE_SHIFT = (FORCE_SHIFT_RAW < 0) ? 0 : FORCE_SHIFT_RAW;
    localparam integer MA_W = imax(W_W, S_W);                   // multiplier operand a
    localparam integer PROD_W = MA_W + OP_W;                    // exact product
    localparam integer PF_W = S_W + ACT_W;                      // exact force product

    // MLPSpec.acc_width: bit_length(max_in << (W_W-1 + OP_W-1) + 1 << (B_W-1 + B_SHIFT)) + 1.
    function integer acc_width;
        input integer n;
        input integer ww;
        input integer ow;
        input integer bw;
        input integer bs;
        reg [127:0] bound;
        integer k;
        begin
            bound = {96'd0, n[31:0]} << (ww - 1 + ow - 1);
            bound = bound + ({127'd0, 1'b1} << (bw - 1 + bs));
            acc_width = 1;
            for (k = 0; k < 128; k = k + 1) begin
                if (bound[k]) acc_width = k + 2;
            end
        end
    endfunction
    localparam integer ACC_W_RAW = acc_width(MAX_IN, W_W, OP_W, B_W, B_SHIFT);
    localparam integer ACC_W = (ACC_W_RAW > 62) ? 62 : ACC_W_RAW;

    // Counter widths.
    localparam integer STEP_W = clog2_1(STEPS);                 // global MAC step (weight address)
    localparam integer GG_W = clog2_1(GROUPS);                  // global row group (bias address)
    localparam integer BUF_AW = clog2_1(BUF_D);                 // activation buffer address
    localparam integer COL_W = imax(clog2_1(MAX_IN + 1), BUF_AW);  // input within a group, and N
    localparam integer GRP_W = clog2_1((WIDEST + P_S - 1) / P_S + 1);
    localparam integer ROW_W = 9;                               // g*P + p < 384, layer sizes <= 128
    localparam integer FG_W = clog2_1(GF + 1);
    localparam integer LANE_W = clog2_1(P_S);
    localparam integer SAT_W = 10;

    localparam LEGAL = N >= 1 && N <= 64 && EMB >= 0 && EMB <= 16 && LAYERS >= 1 && LAYERS <= 3
                    && HIDDEN1 >= 1 && HIDDEN1 <= 128
                    && (LAYERS < 2 || (HIDDEN2 >= 1 && HIDDEN2 <= 128))
                    && (LAYERS < 3 || (HIDDEN3 >= 1 && HIDDEN3 <= 128))
                    && MULTIPLIERS >= 1 && MULTIPLIERS <= WIDEST
                    && X_BITS >= 2 && X_BITS <= 24 && F_BITS >= 2 && F_BITS <= 24
                    && CTRL_BITS >= 2 && CTRL_BITS <= 16
                    && WEIGHT_INT >= 1 && WEIGHT_FRAC >= 0 && W_W_RAW >= 2 && W_W_RAW <= 32
                    && BIAS_INT >= 1 && BIAS_FRAC >= 0 && B_W_RAW >= 2 && B_W_RAW <= 32
                    && ACT_INT >= 1 && ACT_FRAC >= 0 && A_W_RAW >= 2 && A_W_RAW <= 24
                    && SCALE_INT >= 1 && SCALE_FRAC >= 0 && S_W_RAW >= 2 && S_W_RAW <= 32
                    && ACTIVATION >= 0 && ACTIVATION <= 2 && (ACTIVATION != 1 || ACT_INT >= 2)
                    && (ACTIVATION != 2 || (TABLE_BITS >= 1 && TABLE_BITS <= 8 && TABLE_BITS <= A_W_RAW - 1
                                            && TABLE_FRAC >= ACT_FRAC && ACT_INT + TABLE_FRAC <= 24))
                    && SCHED_LEN >= 1 && SCHED_LEN <= 512 && SCHED_LEN * EMB <= 1024
                    && B_SHIFT_RAW >= 0 && FORCE_SHIFT_RAW >= 0 && ACC_W_RAW <= 62
                    && W_ENTRIES <= 8192 && B_ENTRIES <= 512 && LATENCY <= 65535
                    && ROUNDING >= 0 && ROUNDING <= 2 && OVERFLOW >= 0 && OVERFLOW <= 1;
    localparam integer LANES_BUILT = LEGAL ? P_S : 0;

    initial begin
        if (N < 1 || N > 64) begin
            $error("%m: N must be 1..64, got %0d", N);
            $finish;
        end
        if (EMB < 0 || EMB > 16) begin
            $error("%m: EMB must be 0..16, got %0d", EMB);
            $finish;
        end
        if (LAYERS < 1 || LAYERS > 3) begin
            $error("%m: LAYERS must be 1..3, got %0d", LAYERS);
            $finish;
        end
        if (HIDDEN1 < 1 || HIDDEN1 > 128 || (LAYERS >= 2 && (HIDDEN2 < 1 || HIDDEN2 > 128))
                || (LAYERS >= 3 && (HIDDEN3 < 1 || HIDDEN3 > 128))) begin
            $error("%m: hidden layers must have 1..128 units, got %0d, %0d, %0d", HIDDEN1, HIDDEN2, HIDDEN3);
            $finish;
        end
        if (MULTIPLIERS < 1 || MULTIPLIERS > WIDEST) begin
            $error("%m: MULTIPLIERS must be 1..%0d (the widest layer), got %0d", WIDEST, MULTIPLIERS);
            $finish;
        end
        if (X_BITS < 2 || X_BITS > 24 || F_BITS < 2 || F_BITS > 24) begin
            $error("%m: X_BITS and F_BITS must be 2..24, got %0d and %0d", X_BITS, F_BITS);
            $finish;
        end
        if (CTRL_BITS < 2 || CTRL_BITS > 16) begin
            $error("%m: CTRL_BITS must be 2..16, got %0d", CTRL_BITS);
            $finish;
        end
        if (WEIGHT_INT < 1 || WEIGHT_FRAC < 0 || W_W_RAW < 2 || W_W_RAW > 32) begin
            $error("%m: weight format Q(%0d,%0d) needs WEIGHT_INT >= 1, WEIGHT_FRAC >= 0, width 2..32",
                   WEIGHT_INT, WEIGHT_FRAC);
            $finish;
        end
        if (BIAS_INT < 1 || BIAS_FRAC < 0 || B_W_RAW < 2 || B_W_RAW > 32) begin
            $error("%m: bias format Q(%0d,%0d) needs BIAS_INT >= 1, BIAS_FRAC >= 0, width 2..32",
                   BIAS_INT, BIAS_FRAC);
            $finish;
        end
        if (ACT_INT < 1 || ACT_FRAC < 0 || A_W_RAW < 2 || A_W_RAW > 24) begin
            $error("%m: activation format Q(%0d,%0d) needs ACT_INT >= 1, ACT_FRAC >= 0, width 2..24",
                   ACT_INT, ACT_FRAC);
            $finish;
        end
        if (SCALE_INT < 1 || SCALE_FRAC < 0 || S_W_RAW < 2 || S_W_RAW > 32) begin
            $error("%m: scale format Q(%0d,%0d) needs SCALE_INT >= 1, SCALE_FRAC >= 0, width 2..32",
                   SCALE_INT, SCALE_FRAC);
            $finish;
        end
        if (ACTIVATION < 0 || ACTIVATION > 2) begin
            $error("%m: ACTIVATION must be 0 (ReLU), 1 (hard-tanh) or 2 (table), got %0d", ACTIVATION);
            $finish;
        end
        if (ACTIVATION == 2 && (TABLE_BITS < 1 || TABLE_BITS > 8 || TABLE_BITS > A_W_RAW - 1
                                || TABLE_FRAC < ACT_FRAC || ACT_INT + TABLE_FRAC > 24)) begin
            $error("%m: the table needs TABLE_BITS 1..min(8, ACT_W-1) and TABLE_FRAC ACT_FRAC..24-ACT_INT, got %0d and %0d",
                   TABLE_BITS, TABLE_FRAC);
            $finish;
        end
        if (ACTIVATION == 1 && ACT_INT < 2) begin
            $error("%m: hard-tanh needs ACT_INT >= 2 so that +1 is a code, got %0d", ACT_INT);
            $finish;
        end
        if (SCHED_LEN < 1 || SCHED_LEN > 512 || SCHED_LEN * EMB > 1024) begin
            $error("%m: SCHED_LEN must be 1..512 with SCHED_LEN * EMB <= 1024, got %0d", SCHED_LEN);
            $finish;
        end
        if (B_SHIFT_RAW < 0) begin
            $error("%m: BIAS_FRAC=%0d must be <= WEIGHT_FRAC + max(X_BITS-1, ACT_FRAC) = %0d", BIAS_FRAC, ACC_FRAC);
            $finish;
        end
        if (FORCE_SHIFT_RAW < 0) begin
            $error("%m: F_BITS - 1 = %0d must be <= SCALE_FRAC + ACT_FRAC = %0d", F_BITS - 1, SCALE_FRAC + ACT_FRAC);
            $finish;
        end
        if (ACC_W_RAW > 62) begin
            $error("%m: the accumulator would need %0d bits (max 62)", ACC_W_RAW);
            $finish;
        end
        if (W_ENTRIES > 8192 || B_ENTRIES > 512) begin
            $error("%m: %0d weights and %0d biases, the memories hold 8192 and 512", W_ENTRIES, B_ENTRIES);
            $finish;
        end
        if (LATENCY > 65535) begin
            $error("%m: latency %0d cycles exceeds 65535", LATENCY);
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

    // Per-layer constants as registers' comparands (layer index li = 0 .. NL-1).
    localparam integer IN0 = lay_in(0), IN1 = lay_in(1), IN2 = lay_in(2), IN3 = lay_in(3);
    localparam integer OUT0 = lay_out(0), OUT1 = lay_out(1), OUT2 = lay_out(2), OUT3 = lay_out(3);
    localparam integer G0 = lay_grp(0), G1 = lay_grp(1), G2 = lay_grp(2), G3 = lay_grp(3);
    localparam integer NL_M1 = NL - 1;
    localparam integer GF_M1 = GF - 1;
    localparam integer N_C = N_S;

    // ------------------------------------------------------------------------------------------
    // Control: handshake, layer/group/column counters, force pass
    // ------------------------------------------------------------------------------------------

    reg               busy_q;
    reg               force_q;     // force pass in progress
    reg               out_valid_q;
    reg [1:0]         li;          // layer of the MAC step performed at the next edge
    reg [GRP_W-1:0]   g;           // its row group within the layer
    reg [COL_W-1:0]   c;           // its input (column)
    reg [STEP_W-1:0]  mstep;       // its global MAC step (weight address)
    reg [GG_W-1:0]    gg;          // its global row group (bias address)
    reg [ROW_W-1:0]   row0;        // g * P: the row of lane 0
    reg [FG_W-1:0]    fg;          // force-pass cycle
    reg [ROW_W-1:0]   frow0;       // fg * P: the channel of lane 0 in the force pass
    reg               gap_q;       // table: the cycle between two layers (the first input's table read)

    reg [COL_W-1:0] in_m1;         // IN_li - 1
    reg [GRP_W-1:0] g_m1;          // G_li - 1
    reg [ROW_W-1:0] out_n;         // OUT_li
    localparam integer IN0_M1 = IN0 - 1, IN1_M1 = IN1 - 1, IN2_M1 = IN2 - 1, IN3_M1 = IN3 - 1;
    localparam integer G0_M1 = G0 - 1, G1_M1 = G1 - 1, G2_M1 = G2 - 1, G3_M1 = G3 - 1;
    always @* begin
        case (li)
            2'd0: begin in_m1 = IN0_M1[COL_W-1:0]; g_m1 = G0_M1[GRP_W-1:0]; out_n = OUT0[ROW_W-1:0]; end
            2'd1: begin in_m1 = IN1_M1[COL_W-1:0]; g_m1 = G1_M1[GRP_W-1:0]; out_n = OUT1[ROW_W-1:0]; end
            2'd2: begin in_m1 = IN2_M1[COL_W-1:0]; g_m1 = G2_M1[GRP_W-1:0]; out_n = OUT2[ROW_W-1:0]; end
            default: begin in_m1 = IN3_M1[COL_W-1:0]; g_m1 = G3_M1[GRP_W-1:0]; out_n = OUT3[ROW_W-1:0]; end
        endcase
    end

    wire accept = in_valid && in_ready;
    wire mac = busy_q && !force_q && !gap_q;
    wire col_last = (c == in_m1);
    wire grp_last = (g == g_m1);
    wire lay_last = (li == NL_M1[1:0]);
    wire row_end = mac && col_last;                      // a group's last input: narrow, write
    wire mac_last = row_end && grp_last && lay_last;     // the last MAC step of the word
    wire force_last = force_q && (fg == GF_M1[FG_W-1:0]);
    wire hid_end = row_end && !lay_last;                 // hidden units written
    wire score_end = row_end && lay_last;                // scores shifted in

    assign in_ready = !busy_q && (!out_valid_q || out_ready);
    assign out_valid = out_valid_q;
    assign busy = busy_q;
    assign latency = LATENCY[15:0];
    assign w_entries = W_ENTRIES[13:0];
    assign b_entries = B_ENTRIES[9:0];

    always @(posedge clk) begin
        if (rst) begin
            busy_q <= 1'b0;
            force_q <= 1'b0;
            out_valid_q <= 1'b0;
            li <= 2'd0;
            g <= {GRP_W{1'b0}};
            c <= {COL_W{1'b0}};
            mstep <= {STEP_W{1'b0}};
            gg <= {GG_W{1'b0}};
            row0 <= {ROW_W{1'b0}};
            fg <= {FG_W{1'b0}};
            frow0 <= {ROW_W{1'b0}};
            gap_q <= 1'b0;
        end else begin
            // With a table, a hidden layer's last row is followed by one idle cycle: the next
            // layer's first input (its row 0, written at that edge) is read from the table then.
            gap_q <= (HAS_T == 1) && hid_end && grp_last;
            if (out_valid_q && out_ready) begin
                out_valid_q <= 1'b0;
            end
            if (accept) begin
                busy_q <= 1'b1;
            end else if (force_q) begin
                if (force_last) begin
                    busy_q <= 1'b0;
                    force_q <= 1'b0;
                    out_valid_q <= 1'b1;
                    fg <= {FG_W{1'b0}};
                    frow0 <= {ROW_W{1'b0}};
                end else begin
                    fg <= fg + 1'b1;
                    frow0 <= frow0 + P_S[ROW_W-1:0];
                end
            end else if (mac) begin
                if (mac_last) begin
                    force_q <= 1'b1;
                    li <= 2'd0;
                    g <= {GRP_W{1'b0}};
                    c <= {COL_W{1'b0}};
                    mstep <= {STEP_W{1'b0}};
                    gg <= {GG_W{1'b0}};
                    row0 <= {ROW_W{1'b0}};
                end else begin
                    mstep <= mstep + 1'b1;
                    if (col_last) begin
                        c <= {COL_W{1'b0}};
                        gg <= gg + 1'b1;
                        if (grp_last) begin
                            g <= {GRP_W{1'b0}};
                            row0 <= {ROW_W{1'b0}};
                            li <= li + 2'd1;
                        end else begin
                            g <= g + 1'b1;
                            row0 <= row0 + P_S[ROW_W-1:0];
                        end
                    end else begin
                        c <= c + 1'b1;
                    end
                end
            end
        end
    end

    // Memory read addresses one MAC step ahead (step 0 when idle, in the force pass, or on the
    // last step), so that port B's registered output holds step k's operands while step k runs.
    // In a table's gap cycle the counters already name the next layer's first step: hold it.
    wire ahead = mac && !mac_last;
    wire [STEP_W-1:0] rd_step = ahead ? mstep + 1'b1 : gap_q ? mstep : {STEP_W{1'b0}};
    wire [GG_W-1:0]   rd_gg = ahead ? (col_last ? gg + 1'b1 : gg) : gap_q ? gg : {GG_W{1'b0}};
    // The embedding entry of the next step's input (layer 0, inputs N .. N+EMB-1).
    wire [COL_W-1:0]  c_next = col_last ? {COL_W{1'b0}} : c + 1'b1;
    // The buffer entry whose activation the table reads now: the next step's input, or in a gap
    // cycle the (first) input of the step about to start.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COL_W-1:0]  c_ahead = gap_q ? c : c_next;     // buffer addresses are its low BUF_AW bits
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COL_W-1:0]  e_next = (c_next >= N_C[COL_W-1:0]) ? c_next - N_C[COL_W-1:0] : {COL_W{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COL_W+4:0]  e_ext = {5'd0, e_next};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [4:0]        emb_idx = e_ext[4:0];        // < EMB <= 16 whenever it is used

    // ------------------------------------------------------------------------------------------
    // Schedule unit: the table, the step counter, the row of the word in flight
    // ------------------------------------------------------------------------------------------

    wire [ACT_W-1:0]     emb_rdata;
    wire [S_W-1:0]       scale;
    wire [CTRL_BITS-1:0] drift;
    wire [CTRL_BITS-1:0] noise;
    wire [31:0]          sched_rdata;

    demon_sched #(
        .EMB(EMB),
        .ACT_INT(ACT_INT),
        .ACT_FRAC(ACT_FRAC),
        .SCALE_INT(SCALE_INT),
        .SCALE_FRAC(SCALE_FRAC),
        .CTRL_BITS(CTRL_BITS),
        .SCHED_LEN(SCHED_LEN)
    ) u_sched (
        .clk(clk),
        .rst(rst),
        .accept(accept),
        .step_reset(step_reset),
        .sched_k(sched_k),
        .step(step),
        .emb_idx(emb_idx),
        .emb_rdata(emb_rdata),
        .scale(scale),
        .drift(drift),
        .noise(noise),
        .cfg_sel(cfg_tgt[1:0] - 2'd2),           // 2..5 -> 0..3
        .cfg_idx(cfg_idx),
        .cfg_we(cfg_we && cfg_tgt >= 3'd2 && cfg_tgt <= 3'd5),
        .cfg_be(cfg_be),
        .cfg_wdata(cfg_wdata),
        .cfg_rdata(sched_rdata)
    );

    // ------------------------------------------------------------------------------------------
    // Operand: layer 0 reads x (rotating register: input c at the bottom) then the embedding;
    // layer li >= 1 reads the activation buffer layer li-1 wrote (buf0 for odd li, buf1 for even).
    // ------------------------------------------------------------------------------------------

    reg [N_S*XB-1:0] x_q;
    wire [XB-1:0] x_col = x_q[XB-1:0];
    wire x_phase = (li == 2'd0) && (c < N_C[COL_W-1:0]);

    generate
        if (N_S <= 1) begin : g_x1
            always @(posedge clk) begin
                if (accept) x_q <= in_data;
            end
        end else begin : g_xn
            always @(posedge clk) begin
                if (accept) begin
                    x_q <= in_data;
                end else if (mac && x_phase) begin
                    x_q <= {x_q[XB-1:0], x_q[N_S*XB-1:XB]};
                end
            end
        end
    endgenerate

    reg  [ACT_W-1:0] buf0 [0:BUF_D-1];
    wire [ACT_W-1:0] buf_rd;
    wire [ACT_W-1:0] buf_ahead;       // table: the buffer entry of the next step's input
    wire [ACT_W-1:0] tab_act;         // table: the activation of this step's input

    // Aligned to the operand format: x << X_SHIFT and a << ACT_SHIFT, sign-extended to OP_W.
    wire [OP_W-1:0] op_x = {{(OP_W - XB + 1){x_col[XB-1]}}, x_col[XB-2:0]} << X_SHIFT;
    wire [ACT_W-1:0] act_in = (li == 2'd0) ? emb_rdata : (HAS_T == 1) ? tab_act : buf_rd;
    wire [OP_W-1:0] op_a = {{(OP_W - ACT_W + 1){act_in[ACT_W-1]}}, act_in[ACT_W-2:0]} << ACT_SHIFT;
    wire [OP_W-1:0] op = x_phase ? op_x : op_a;

    // ------------------------------------------------------------------------------------------
    // Configuration port: lane and bank word of MLP_W entry i / MLP_B entry j, by comparisons
    // against the constant first entries of every row (no divider).
    // ------------------------------------------------------------------------------------------

    // Per row of the network (global row R = b_base(l) + r < 512, layer by layer, which is also the row's
    // MLP_B entry), 16-bit fields: 0 the row's first MLP_W entry w_base(l) + r*IN_l; 1 its first
    // weight-bank word step_base(l) + (r/P)*IN_l; 2 its lane r % P; 3 its bias-bank word
    // grp_base(l) + r/P. Rows beyond the network hold 0xFFFF in field 0 (never matched).
    function [512*16-1:0] row_table;
        input integer field;
        integer l, r, rr;
        /* verilator lint_off UNUSEDSIGNAL */
        integer v;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            row_table = {512{16'hFFFF}};
            rr = 0;
            for (l = 0; l < NL; l = l + 1) begin
                for (r = 0; r < lay_out(l); r = r + 1) begin
                    v = (field == 0) ? w_base(l) + r * lay_in(l)
                      : (field == 1) ? step_base(l) + (r / P_S) * lay_in(l)
                      : (field == 2) ? r % P_S
                      : grp_base(l) + r / P_S;
                    row_table[rr*16 +: 16] = v[15:0];
                    rr = rr + 1;
                end
            end
        end
    endfunction

    localparam [512*16-1:0] ROW_FIRST_W = row_table(0);
    localparam [512*16-1:0] ROW_WORD0 = row_table(1);
    localparam [512*16-1:0] ROW_LANE = row_table(2);
    localparam [512*16-1:0] ROW_BWORD = row_table(3);

    // Weight entry cfg_idx lies in layer l (the last whose first entry WB_l is <= cfg_idx), row
    // RB_l + (cfg_idx - WB_l) / IN_l: a division by a constant, which synthesis turns into a
    // multiply and shift (this is the configuration path, not the datapath), and which a
    // simulator evaluates in one step, where a search over every row costs it ~10 ms per bus
    // access on the larger networks (measured on Icarus).
    localparam integer WB1 = w_base(1), WB2 = w_base(2), WB3 = w_base(3);
    localparam integer RB1 = b_base(1), RB2 = b_base(2), RB3 = b_base(3);
    wire [15:0] idx16 = {3'd0, cfg_idx};
    reg  [15:0] w_row16;
    always @* begin
        if (NL > 3 && idx16 >= WB3[15:0])
            w_row16 = RB3[15:0] + (idx16 - WB3[15:0]) / IN3[15:0];
        else if (NL > 2 && idx16 >= WB2[15:0])
            w_row16 = RB2[15:0] + (idx16 - WB2[15:0]) / IN2[15:0];
        else if (NL > 1 && idx16 >= WB1[15:0])
            w_row16 = RB1[15:0] + (idx16 - WB1[15:0]) / IN1[15:0];
        else
            w_row16 = idx16 / IN0[15:0];
    end
    // Rows are < 512 for every entry demon_axil lets through.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] w_row_full = w_row16;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [8:0] w_row = w_row_full[8:0];
    // Entries are < 8192 and bank words < 8192: the low bits of the 16-bit fields are all of them.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] w_first = ROW_FIRST_W[w_row*16 +: 16];
    wire [15:0] w_word16 = ROW_WORD0[w_row*16 +: 16] + ({3'd0, cfg_idx} - w_first);
    wire [15:0] w_lane16 = ROW_LANE[w_row*16 +: 16];
    wire [8:0]  b_row = cfg_idx[8:0];                 // < 512 (demon_axil checks the range)
    wire [15:0] b_lane16 = ROW_LANE[b_row*16 +: 16];
    wire [15:0] b_word16 = ROW_BWORD[b_row*16 +: 16];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [LANE_W-1:0] w_lane = w_lane16[LANE_W-1:0];
    wire [STEP_W-1:0] w_word = w_word16[STEP_W-1:0];
    wire [LANE_W-1:0] b_lane = b_lane16[LANE_W-1:0];
    wire [GG_W-1:0]   b_word = b_word16[GG_W-1:0];

    reg [2:0]        cfg_tgt_q;
    reg [LANE_W-1:0] cfg_lane_q;
    always @(posedge clk) begin
        cfg_tgt_q <= cfg_tgt;
        cfg_lane_q <= (cfg_tgt == 3'd1) ? b_lane : w_lane;
    end

    wire [P_S*W_W-1:0] w_cfg_all;
    wire [P_S*B_W-1:0] b_cfg_all;
    wire [W_W-1:0] w_cfg = w_cfg_all[cfg_lane_q*W_W +: W_W];
    wire [B_W-1:0] b_cfg = b_cfg_all[cfg_lane_q*B_W +: B_W];
    wire [31:0] tab_cfg_rdata;
    assign cfg_rdata = (cfg_tgt_q == 3'd6) ? tab_cfg_rdata
                     : (cfg_tgt_q >= 3'd2) ? sched_rdata
                     : (cfg_tgt_q == 3'd1) ? {{(33 - B_W){b_cfg[B_W-1]}}, b_cfg[B_W-2:0]}
                     : {{(33 - W_W){w_cfg[W_W-1]}}, w_cfg[W_W-2:0]};

    // ------------------------------------------------------------------------------------------
    // Lanes
    // ------------------------------------------------------------------------------------------

    wire [P_S*ACT_W-1:0] act_all;     // lane p's activated hidden unit (meaningful in hid_end)
    wire [P_S-1:0]       row_ok;      // lane p's row exists in this layer
    wire [P_S*BUF_AW-1:0] row_addr;   // lane p's row as a buffer address (when it exists)
    wire [P_S-1:0]       ovf_lane;    // lane p's narrowing overflowed (a counted event)
    wire [N_S*FB-1:0]    f_all;       // the force codes, channel j at [j*FB +: FB]

    localparam [ACT_W-1:0] ONE = {{(ACT_W - 1){1'b0}}, 1'b1} << AF;    // +1.0 in act format
    localparam [ACT_W-1:0] MINUS_ONE = ~ONE + 1'b1;

    genvar p;
    generate
        for (p = 0; p < LANES_BUILT; p = p + 1) begin : g_lane
            wire [W_W-1:0] w_rd;      // weight of this lane's row, input c
            wire [B_W-1:0] b_rd;      // bias of this lane's row

            demon_bank #(
                .WIDTH(W_W),
                .ADDR_W(STEP_W)
            ) u_w (
                .clk(clk),
                .a_we(cfg_we && cfg_tgt == 3'd0 && w_lane == p),
                .a_be(cfg_be[(W_W+7)/8-1:0]),
                .a_addr(w_word),
                .a_wdata(cfg_wdata[W_W-1:0]),      // low WEIGHT_W bits of the bus word (regmap: WRAP)
                .a_rdata(w_cfg_all[p*W_W +: W_W]),
                .b_addr(rd_step),
                .b_rdata(w_rd)
            );

            demon_bank #(
                .WIDTH(B_W),
                .ADDR_W(GG_W)
            ) u_b (
                .clk(clk),
                .a_we(cfg_we && cfg_tgt == 3'd1 && b_lane == p),
                .a_be(cfg_be[(B_W+7)/8-1:0]),
                .a_addr(b_word),
                .a_wdata(cfg_wdata[B_W-1:0]),      // low BIAS_W bits of the bus word (regmap: WRAP)
                .a_rdata(b_cfg_all[p*B_W +: B_W]),
                .b_addr(rd_gg),
                .b_rdata(b_rd)
            );

            // Score shift register (lanes that own a channel): the newest score enters at the
            // top; in force cycle f the bottom holds the score of channel f*P + p.
            wire [ACT_W-1:0] s_bot;

            // The one multiplier: W x op while computing a layer, force_scale x s in the force pass.
            wire [MA_W-1:0] mul_a = force_q ? {{(MA_W - S_W + 1){scale[S_W-1]}}, scale[S_W-2:0]}
                                            : {{(MA_W - W_W + 1){w_rd[W_W-1]}}, w_rd[W_W-2:0]};
            wire [OP_W-1:0] mul_b = force_q ? {{(OP_W - ACT_W + 1){s_bot[ACT_W-1]}}, s_bot[ACT_W-2:0]} : op;
            wire signed [PROD_W-1:0] prod = $signed(mul_a) * $signed(mul_b);   // exact

            // Accumulator: exact in ACC_W bits (MLPSpec.acc_width) while computing a layer, where
            // the product is a WEIGHT_W x OP_W one and fits.
            wire [ACC_W-1:0] prod_acc;
            if (ACC_W >= PROD_W) begin : g_prod_ext
                assign prod_acc = {{(ACC_W - PROD_W + 1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};
            end else begin : g_prod_low
                assign prod_acc = prod[ACC_W-1:0];            // exact: |W x op| < 2^(ACC_W-1)
                wire unused_prod = ^prod[PROD_W-1:ACC_W];
            end
            wire [ACC_W-1:0] b_acc = {{(ACC_W - B_W + 1){b_rd[B_W-1]}}, b_rd[B_W-2:0]} << B_SHIFT;
            reg  [ACC_W-1:0] acc_q;
            wire [ACC_W-1:0] acc_base = (c == {COL_W{1'b0}}) ? b_acc : acc_q;
            wire [ACC_W-1:0] acc_nx = acc_base + prod_acc;

            always @(posedge clk) begin
                if (mac) acc_q <= acc_nx;
            end

            // Requantization of a finished row (operand isolation: a constant on the other inputs,
            // so the narrowing logic does not toggle).
            wire [ACC_W-1:0] acc_row = row_end ? acc_nx : {ACC_W{1'b0}};
            wire [ACT_W-1:0] h;
            wire             h_ovf;
            demon_narrow #(
                .IN_W(ACC_W),
                .SHIFT(REQ_SHIFT),
                .OUT_W(ACT_W),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_req (
                .a(acc_row),
                .y(h),        // ROUNDING (TRN/RND/RND_CONV), OVERFLOW (SAT/WRAP)
                .ovf(h_ovf)
            );

            // Activation (exact: ReLU and hard-tanh have their kinks on the grid).
            wire h_neg = h[ACT_W-1];
            wire h_above = !h_neg && (h > ONE);                       // h > +1
            wire h_below = h_neg && (h < MINUS_ONE);                  // h < -1 (unsigned compare of negatives)
            // With a table the buffer holds h and the table acts on the operand path.
            wire [ACT_W-1:0] a_out = (ACTIVATION == 0) ? (h_neg ? {ACT_W{1'b0}} : h)
                                   : (ACTIVATION == 2) ? h
                                   : h_above ? ONE : h_below ? MINUS_ONE : h;
            assign act_all[p*ACT_W +: ACT_W] = a_out;

            localparam [ROW_W-1:0] P_ROW = p;
            wire [ROW_W-1:0] row = row0 + P_ROW;
            assign row_ok[p] = (row < out_n);
            assign row_addr[p*BUF_AW +: BUF_AW] = row[BUF_AW-1:0];   // rows that exist are < BUF_D

            // Force narrowing (operand isolation: the product only in the force pass).
            wire [PF_W-1:0] prod_f = force_q ? prod[PF_W-1:0] : {PF_W{1'b0}};   // exact: |scale x s| < 2^(PF_W-1)
            wire [FB-1:0]   f_nx;
            wire            f_ovf;
            demon_narrow #(
                .IN_W(PF_W),
                .SHIFT(FORCE_SHIFT),
                .OUT_W(FB),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_force (
                .a(prod_f),
                .y(f_nx),     // ROUNDING (TRN/RND/RND_CONV), OVERFLOW (SAT/WRAP)
                .ovf(f_ovf)
            );

            wire [ROW_W-1:0] chan = frow0 + P_ROW;
            wire chan_ok = (chan < N_C[ROW_W-1:0]);
            assign ovf_lane[p] = (h_ovf && row_end && row_ok[p]) || (f_ovf && force_q && chan_ok);

            if (p < N_S) begin : g_out
                // Channels p, P + p, 2P + p, ...: GF slots (the last one may not exist).
                localparam integer SLOTS = (N_S - p + P_S - 1) / P_S;
                reg [GF*ACT_W-1:0] s_q;
                reg [GF*FB-1:0]    f_q;
                assign s_bot = s_q[ACT_W-1:0];
                if (GF == 1) begin : g_one
                    always @(posedge clk) begin
                        if (score_end) s_q <= h;
                        if (force_q) f_q <= f_nx;
                    end
                end else begin : g_shift
                    always @(posedge clk) begin
                        if (score_end || force_q) s_q <= {h, s_q[GF*ACT_W-1:ACT_W]};
                        if (force_q) f_q <= {f_nx, f_q[GF*FB-1:FB]};
                    end
                end
                genvar f;
                for (f = 0; f < SLOTS; f = f + 1) begin : g_slot
                    assign f_all[(f*P_S + p)*FB +: FB] = f_q[f*FB +: FB];
                end
                if (SLOTS < GF) begin : g_unused_slot
                    wire unused_slot = ^f_q[GF*FB-1:SLOTS*FB];
                end
            end else begin : g_no_out
                assign s_bot = {ACT_W{1'b0}};
                wire unused_f = ^{f_nx, chan_ok};
            end
        end
    endgenerate

    // Activation buffers: the hidden units of layer li go to buf0 (li even) or buf1 (li odd), row
    // g*P + p from lane p; whole-word writes.
    wire wr_buf1 = li[0];
    integer wp;
    always @(posedge clk) begin
        if (hid_end && !wr_buf1) begin
            for (wp = 0; wp < P_S; wp = wp + 1) begin
                if (row_ok[wp]) buf0[row_addr[wp*BUF_AW +: BUF_AW]] <= act_all[wp*ACT_W +: ACT_W];
            end
        end
    end

    generate
        if (L_S >= 2) begin : g_buf1
            reg [ACT_W-1:0] buf1 [0:BUF_D-1];
            integer wq;
            always @(posedge clk) begin
                if (hid_end && wr_buf1) begin
                    for (wq = 0; wq < P_S; wq = wq + 1) begin
                        if (row_ok[wq]) buf1[row_addr[wq*BUF_AW +: BUF_AW]] <= act_all[wq*ACT_W +: ACT_W];
                    end
                end
            end
            assign buf_rd = li[0] ? buf0[c[BUF_AW-1:0]] : buf1[c[BUF_AW-1:0]];
            assign buf_ahead = li[0] ? buf0[c_ahead[BUF_AW-1:0]] : buf1[c_ahead[BUF_AW-1:0]];
        end else begin : g_buf0
            assign buf_rd = buf0[c[BUF_AW-1:0]];
            assign buf_ahead = buf0[c_ahead[BUF_AW-1:0]];
        end
    endgenerate

    // ------------------------------------------------------------------------------------------
    // Activation table (ACTIVATION = 2; emulator/demon/table.py is the arithmetic). Entries
    // T[0 .. 2^TABLE_BITS] live in two banks, even and odd indices, so that T[i] and T[i+1] come
    // out of one synchronous read. The read is issued a step ahead from the buffer entry of the
    // next input (c_ahead; in the gap cycle, the layer's first input), so that in step c
    //   a = narrow((T[i] << SB) + (T[i+1] - T[i]) * r, SB + TABLE_FRAC - ACT_FRAC)
    // with u = h + 2^(ACT_W-1) = {i, r} (i: TABLE_BITS bits, r: SB bits). The entries lie in the
    // act range (checked by the host), so the narrowing never overflows.
    // ------------------------------------------------------------------------------------------

    generate
        if (HAS_T == 1 && LEGAL) begin : g_table
            localparam integer TB = TABLE_BITS;
            localparam integer SB = ACT_W - TB;                   // position bits within a segment
            localparam integer TW = ACT_INT + TABLE_FRAC;         // entry width
            localparam integer EV_AW = (TB < 1) ? 1 : TB;         // even bank: 2^(TB-1) + 1 words
            localparam integer OD_AW = (TB < 2) ? 1 : TB - 1;     // odd bank: 2^(TB-1) words
            localparam integer YW = TW + SB + 2;
            localparam integer T_SHIFT = SB + TABLE_FRAC - AF;

            // Read side: the segment of the next input.
            wire [ACT_W-1:0] u_nx = {~buf_ahead[ACT_W-1], buf_ahead[ACT_W-2:0]};   // h + 2^(ACT_W-1)
            wire [TB-1:0] i_nx = u_nx[ACT_W-1:SB];
            /* verilator lint_off UNUSEDSIGNAL */
            wire [TB:0] i_p1 = {1'b0, i_nx} + {{TB{1'b0}}, 1'b1};
            wire [TB:0] i_h = {1'b0, i_nx} >> 1;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [EV_AW-1:0] ev_addr = i_p1[TB:1];         // (i+1)/2: T[i] (i even) or T[i+1] (i odd)
            wire [OD_AW-1:0] od_addr = i_h[OD_AW-1:0];     // i/2: the odd one of the two
            reg           odd_q;
            reg  [SB-1:0] r_q;
            always @(posedge clk) begin
                odd_q <= i_nx[0];
                r_q <= u_nx[SB-1:0];
            end

            // Configuration: entry cfg_idx to bank cfg_idx[0], word cfg_idx >> 1.
            wire t_we = cfg_we && cfg_tgt == 3'd6;
            wire [TW-1:0] ev_rd, od_rd, ev_cfg, od_cfg;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [12:0] t_word = {1'b0, cfg_idx[12:1]};
            /* verilator lint_on UNUSEDSIGNAL */
            reg t_odd_q;
            always @(posedge clk) t_odd_q <= cfg_idx[0];

            demon_bank #(.WIDTH(TW), .ADDR_W(EV_AW)) u_even (
                .clk(clk),
                .a_we(t_we && !cfg_idx[0]),
                .a_be(cfg_be[(TW+7)/8-1:0]),
                .a_addr(t_word[EV_AW-1:0]),
                .a_wdata(cfg_wdata[TW-1:0]),       // low TW bits of the bus word (regmap: WRAP)
                .a_rdata(ev_cfg),
                .b_addr(ev_addr),
                .b_rdata(ev_rd)
            );
            demon_bank #(.WIDTH(TW), .ADDR_W(OD_AW)) u_odd (
                .clk(clk),
                .a_we(t_we && cfg_idx[0]),
                .a_be(cfg_be[(TW+7)/8-1:0]),
                .a_addr(t_word[OD_AW-1:0]),
                .a_wdata(cfg_wdata[TW-1:0]),       // low TW bits of the bus word (regmap: WRAP)
                .a_rdata(od_cfg),
                .b_addr(od_addr),
                .b_rdata(od_rd)
            );
            wire [TW-1:0] t_cfg = t_odd_q ? od_cfg : ev_cfg;
            assign tab_cfg_rdata = {{(33 - TW){t_cfg[TW-1]}}, t_cfg[TW-2:0]};

            // Interpolation: one multiplier for the whole unit (all lanes share the operand).
            wire [TW-1:0] t0 = odd_q ? od_rd : ev_rd;
            wire [TW-1:0] t1 = odd_q ? ev_rd : od_rd;
            wire signed [TW:0] dt = $signed({t1[TW-1], t1}) - $signed({t0[TW-1], t0});   // exact
            wire signed [TW+SB+1:0] dr = dt * $signed({1'b0, r_q});                      // exact
            wire [YW-1:0] t0_sh = {{2{t0[TW-1]}}, t0, {SB{1'b0}}};
            wire [YW-1:0] y = t0_sh + dr[YW-1:0];                                        // exact
            wire          t_ovf;
            demon_narrow #(
                .IN_W(YW),
                .SHIFT(T_SHIFT),
                .OUT_W(ACT_W),
                .ROUNDING(ROUNDING),
                .OVERFLOW(0)
            ) u_tnarrow (
                .a(y),
                .y(tab_act),  // ROUNDING (TRN/RND/RND_CONV), SAT (never reached: entries in range)
                .ovf(t_ovf)
            );
            wire unused_t = ^{t_ovf, buf_rd};
        end else begin : g_no_table
            assign tab_act = {ACT_W{1'b0}};
            assign tab_cfg_rdata = 32'd0;
            wire unused_t = ^{buf_ahead, tab_act};
        end
    endgenerate

    // ------------------------------------------------------------------------------------------
    // Output word and overflow count
    // ------------------------------------------------------------------------------------------

    reg [2*CTRL_BITS-1:0] ctrl_q;      // {noise, drift} of the word's row
    always @(posedge clk) begin
        if (force_last) ctrl_q <= {noise, drift};
    end
    assign out_data = {ctrl_q, f_all};

    // Number of ones of v.
    function [SAT_W-1:0] popcount;
        input [P_S-1:0] v;
        integer k;
        begin
            popcount = {SAT_W{1'b0}};
            for (k = 0; k < P_S; k = k + 1) begin
                popcount = popcount + {{(SAT_W - 1){1'b0}}, v[k]};
            end
        end
    endfunction

    wire [SAT_W-1:0] sat_now = popcount(ovf_lane);
    reg  [SAT_W-1:0] sat_run;          // overflows so far in the word in progress
    reg  [SAT_W-1:0] sat_q;            // overflows of the word on out_data
    always @(posedge clk) begin
        if (accept) begin
            sat_run <= {SAT_W{1'b0}};
        end else if (row_end || force_q) begin
            sat_run <= sat_run + sat_now;
        end
        if (force_last) begin
            sat_q <= sat_run + sat_now;
        end
    end
    assign out_sat = sat_q;

endmodule

`resetall
