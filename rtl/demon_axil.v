`default_nettype none
// demon_axil: AXI4-Lite slave of the demon (register map: rtl/regmap.yaml, constants from the
// generated rtl/demon_regs.vh).
//
// Bus: 32-bit data, 16-bit byte addresses; address bits [1:0] are ignored (word access).
// One transaction of each kind at a time:
//   write  AWREADY and WREADY rise together, in the cycle where AWVALID and WVALID are both high
//          and no write response is pending; the write takes effect at that clock edge and BVALID
//          follows in the next cycle.
//   read   ARREADY is high while no read is in flight (and no write is being accepted in the same
//          cycle, which would need the coefficient port); RVALID follows two cycles after the AR
//          handshake (one cycle for the synchronous coefficient memories, one to register RDATA).
// Responses: OKAY, or SLVERR for an address not in the map, an array entry at or beyond what the
// instance holds (COEF_A N*N, COEF_B and CAP_DATA N; MLP_W and MLP_B the network's weights and
// biases, SCHED_SCALE/DRIFT/NOISE SCHED_LEN, SCHED_EMB SCHED_LEN*EMB), the arrays of the force unit
// the instance does not have (FORCE_UNIT: 0 linear maps COEF_*, 1 MLP maps MLP_* and SCHED_*), and
// a write to a read-only register or to CAP_DATA (which changes nothing).
// WSTRB is honoured on CTRL, SCRATCH, SCHED_K and the array entries.
//
// Counters (CNT_IN, CNT_OUT, CNT_DROP, CNT_SAT) saturate at 0xFFFFFFFF. Writing CTRL with CLEAR
// set zeroes them at that clock edge (events of that same edge are discarded); CLEAR reads 0.
// ENABLE is an output to demon_top, which gates the input stream with it; the event inputs are
// counted as they come (demon_top only raises ev_in and ev_drop while enabled).
//
// Schedule (score network): writing CTRL with STEP_RESET set pulses ctrl_step_reset for that clock
// (the step counter goes to 0); STEP_RESET reads 0. SCHED_K is a plain register for the schedule
// unit; STEP reads st_step. TIMING reads unit_latency (the force unit's latency = II).
//
// Capture FIFO (demon_capture): CAP_STATUS and CAP_SEQ read its state; CAP_DATA[j] reads channel
// j of the head entry (cap_chan = j while the read is pending); the read of CAP_DATA[N-1] pops the
// head (cap_pop, at the clock edge that registers RDATA, so the popped entry is the one returned).
// Writing CTRL with CAP_CLEAR set raises cap_clear for that clock; CAP_CLEAR reads 0.
module demon_axil #(
    // Number of units (channels) n; 1..64 (reported in SHAPE.N; bounds COEF_A and COEF_B).
    parameter integer N = 4,
    // Parallel multipliers P; 1..N (reported in SHAPE.MULTIPLIERS and TIMING).
    parameter integer MULTIPLIERS = 4,
    // ADC code width; 2..24 (reported in WIDTHS.X_BITS).
    parameter integer X_BITS = 10,
    // DAC code width; 2..24 (reported in WIDTHS.F_BITS).
    parameter integer F_BITS = 10,
    // Integer bits of A; >= 1, COEF_INT + COEF_FRAC in 2..32 (WIDTHS.COEF_W).
    parameter integer COEF_INT = 3,
    // Fractional bits of A; 0..31 (FORMAT.COEF_FRAC).
    parameter integer COEF_FRAC = 9,
    // Integer bits of b; >= 1, BIAS_INT + BIAS_FRAC in 2..32 (WIDTHS.BIAS_W).
    parameter integer BIAS_INT = 3,
    // Fractional bits of b; 0..31 (FORMAT.BIAS_FRAC).
    parameter integer BIAS_FRAC = 9,
    // Rounding code; 0 TRN, 1 RND, 2 RND_CONV (FORMAT.ROUNDING).
    parameter integer ROUNDING = 0,
    // Overflow code; 0 SAT, 1 WRAP (FORMAT.OVERFLOW).
    parameter integer OVERFLOW = 0,
    // Capture FIFO depth; a power of two, 2..256 (CAP_STATUS.DEPTH; checked by demon_capture).
    parameter integer CAP_DEPTH = 32,
    // Force unit: 0 linear (maps COEF_A, COEF_B), 1 score network (maps MLP_*, SCHED_*), 2 polynomial
    // (maps COEF_A, COEF_B, POLY_A/C/H/G; uses SCHED_K, STEP, POLY_DWELL); UNIT.FORCE_UNIT.
    parameter integer FORCE_UNIT = 0,
    // MLP only (reported in UNIT and MLP_*, 0 for a linear instance; range-checked by demon_mlp):
    // time-embedding inputs 0..16, hidden layers 1..3 and their units 1..128.
    parameter integer EMB = 0,
    parameter integer LAYERS = 1,
    parameter integer HIDDEN1 = 1,
    parameter integer HIDDEN2 = 1,
    parameter integer HIDDEN3 = 1,
    // MLP control-code width 2..16; formats of the weights, activations and force_scale (widths
    // 2..32); activation 0 ReLU, 1 hard-tanh; schedule table rows 1..512.
    parameter integer CTRL_BITS = 8,
    parameter integer WEIGHT_INT = 3,
    parameter integer WEIGHT_FRAC = 8,
    parameter integer ACT_INT = 4,
    parameter integer ACT_FRAC = 8,
    parameter integer SCALE_INT = 4,
    parameter integer SCALE_FRAC = 8,
    parameter integer ACTIVATION = 0,
    // MLP with ACTIVATION = 2 (table): log2 of the activation table's segments, 1..min(8, ACT_W-1),
    // and the fractional bits of its entries, ACT_FRAC..24-ACT_INT (ignored otherwise).
    parameter integer TABLE_BITS = 6,
    parameter integer TABLE_FRAC = 12,
    parameter integer SCHED_LEN = 16
) (
    input  wire        clk,
    input  wire        rst,            // synchronous, active high
    // AXI4-Lite slave
    input  wire [15:0] s_axil_awaddr,
    input  wire [2:0]  s_axil_awprot,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output wire [1:0]  s_axil_bresp,
    output wire        s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [15:0] s_axil_araddr,
    input  wire [2:0]  s_axil_arprot,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output wire [31:0] s_axil_rdata,
    output wire [1:0]  s_axil_rresp,
    output wire        s_axil_rvalid,
    input  wire        s_axil_rready,
    // control and status
    output wire        ctrl_enable,    // CTRL.ENABLE
    output wire        ctrl_step_reset, // CTRL.STEP_RESET written as 1 (one clock)
    output wire [15:0] ctrl_sched_k,   // SCHED_K[15:0]
    output wire [15:0] ctrl_dwell,     // POLY_DWELL[15:0]
    input  wire [15:0] st_step,        // STEP
    input  wire [15:0] unit_latency,   // TIMING.LATENCY = TIMING.II of the force unit (a constant)
    input  wire [13:0] unit_w_entries, // MLP_W entries the unit holds (a constant; MLP only)
    input  wire [9:0]  unit_b_entries, // MLP_B entries the unit holds (a constant; MLP only)
    input  wire        st_busy,        // STATUS.BUSY
    input  wire        st_out_valid,   // STATUS.OUT_VALID
    input  wire        st_in_ready,    // STATUS.IN_READY
    // counter events, one clock each
    input  wire        ev_in,          // input handshake
    input  wire        ev_out,         // output handshake
    input  wire        ev_drop,        // input valid while not ready, enabled
    input  wire [9:0]  ev_sat,         // overflowed narrowings of the word delivered with ev_out
    // array port (port A of the force unit's memories)
    output wire [2:0]  cfg_tgt,        // 0 COEF_A, 1 COEF_B, 2 MLP_W, 3 MLP_B, 4 SCHED_SCALE,
                                       // 5 SCHED_DRIFT, 6 SCHED_NOISE, 7 SCHED_EMB; polynomial
                                       // instances: 2 POLY_A, 3 POLY_C, 4 POLY_H, 5 POLY_G
    output wire [12:0] cfg_idx,
    output wire        cfg_we,
    output wire [3:0]  cfg_be,
    output wire [31:0] cfg_wdata,
    input  wire [31:0] cfg_rdata,      // entry addressed in the previous cycle, sign-extended
    // capture FIFO (demon_capture)
    output wire        cap_clear,      // CTRL.CAP_CLEAR written 1, one clock
    output wire        cap_pop,        // CAP_DATA[N-1] read, one clock
    output wire [5:0]  cap_chan,       // channel of cap_word: the CAP_DATA entry being read
    input  wire [31:0] cap_word,       // channel cap_chan of the head, sign-extended (0 if empty)
    input  wire [31:0] cap_seq,        // CAP_SEQ
    input  wire [8:0]  cap_level,      // CAP_STATUS.LEVEL
    input  wire        cap_overflow,   // CAP_STATUS.OVERFLOW
    input  wire        cap_underflow,  // CAP_STATUS.UNDERFLOW
    // interrupt request: high while an enabled IRQ_STATUS bit is set (registered)
    output wire        irq
);

`include "demon_regs.vh"

    localparam [1:0] RESP_OKAY = 2'b00;
    localparam [1:0] RESP_SLVERR = 2'b10;

    localparam IS_MLP = (FORCE_UNIT == 1);
    localparam IS_POLY = (FORCE_UNIT == 2);
    localparam integer POLY = IS_POLY ? 1 : 0;                  // a factor of the polynomial's fields
    localparam integer LIN_RAW = COEF_FRAC + X_BITS;
    localparam integer LIN_BITS = (LIN_RAW > 24) ? 24 : LIN_RAW;
    localparam [31:0] POLY_FORMAT_VALUE = ((POLY * (SCALE_INT + SCALE_FRAC)) << DEMON_POLY_FORMAT_SCHED_W_LSB)
                                        | ((POLY * SCALE_FRAC) << DEMON_POLY_FORMAT_SCHED_FRAC_LSB)
                                        | ((POLY * LIN_BITS) << DEMON_POLY_FORMAT_LIN_BITS_LSB);
    localparam integer MLP = IS_MLP ? 1 : 0;                    // a factor of the MLP's fields
    localparam integer COEF_W = IS_MLP ? 0 : COEF_INT + COEF_FRAC;
    localparam integer COEF_F = IS_MLP ? 0 : COEF_FRAC;
    localparam integer BIAS_W = BIAS_INT + BIAS_FRAC;
    localparam [31:0] CAP_DEPTH_FIELD = CAP_DEPTH;
    localparam [31:0] CAP_LAST_32 = N - 1;
    localparam [5:0] CAP_LAST = CAP_LAST_32[5:0];   // CAP_DATA entry of the last channel (N <= 64)

    // Read-only values built from the parameters, placed by the generated field positions.
    localparam [31:0] SHAPE_VALUE = (N << DEMON_SHAPE_N_LSB)
                                  | (MULTIPLIERS << DEMON_SHAPE_MULTIPLIERS_LSB);
    localparam [31:0] WIDTHS_VALUE = (X_BITS << DEMON_WIDTHS_X_BITS_LSB)
                                   | (F_BITS << DEMON_WIDTHS_F_BITS_LSB)
                                   | (COEF_W << DEMON_WIDTHS_COEF_W_LSB)
                                   | (BIAS_W << DEMON_WIDTHS_BIAS_W_LSB);
    localparam [31:0] FORMAT_VALUE = (COEF_F << DEMON_FORMAT_COEF_FRAC_LSB)
                                   | (BIAS_FRAC << DEMON_FORMAT_BIAS_FRAC_LSB)
                                   | (ROUNDING << DEMON_FORMAT_ROUNDING_LSB)
                                   | (OVERFLOW << DEMON_FORMAT_OVERFLOW_LSB);
    wire [31:0] timing_value = ({16'd0, unit_latency} << DEMON_TIMING_LATENCY_LSB)
                             | ({16'd0, unit_latency} << DEMON_TIMING_II_LSB);
    localparam [31:0] UNIT_VALUE = (FORCE_UNIT << DEMON_UNIT_FORCE_UNIT_LSB)
                                 | ((MLP * ACTIVATION) << DEMON_UNIT_ACTIVATION_LSB)
                                 | ((MLP * LAYERS) << DEMON_UNIT_LAYERS_LSB)
                                 | ((MLP * EMB) << DEMON_UNIT_EMB_LSB);
    localparam [31:0] MLP_SHAPE_VALUE = ((MLP * HIDDEN1) << DEMON_MLP_SHAPE_HIDDEN1_LSB)
                                      | ((MLP * (LAYERS >= 2 ? HIDDEN2 : 0)) << DEMON_MLP_SHAPE_HIDDEN2_LSB)
                                      | ((MLP * (LAYERS >= 3 ? HIDDEN3 : 0)) << DEMON_MLP_SHAPE_HIDDEN3_LSB);
    localparam [31:0] MLP_WIDTHS_VALUE = ((MLP * (WEIGHT_INT + WEIGHT_FRAC)) << DEMON_MLP_WIDTHS_WEIGHT_W_LSB)
                                       | ((MLP * (ACT_INT + ACT_FRAC)) << DEMON_MLP_WIDTHS_ACT_W_LSB)
                                       | ((MLP * (SCALE_INT + SCALE_FRAC)) << DEMON_MLP_WIDTHS_SCALE_W_LSB)
                                       | ((MLP * CTRL_BITS) << DEMON_MLP_WIDTHS_CTRL_BITS_LSB);
    localparam [31:0] MLP_FORMAT_VALUE = ((MLP * WEIGHT_FRAC) << DEMON_MLP_FORMAT_WEIGHT_FRAC_LSB)
                                       | ((MLP * ACT_FRAC) << DEMON_MLP_FORMAT_ACT_FRAC_LSB)
                                       | ((MLP * SCALE_FRAC) << DEMON_MLP_FORMAT_SCALE_FRAC_LSB);
    localparam [31:0] SCHED_LEN_VALUE = (MLP + POLY) * SCHED_LEN;
    localparam integer HAS_TABLE = (IS_MLP && ACTIVATION == 2) ? 1 : 0;
    localparam [31:0] ACT_TABLE_FMT_VALUE = ((HAS_TABLE * TABLE_BITS) << DEMON_ACT_TABLE_FMT_BITS_LSB)
                                          | ((HAS_TABLE * TABLE_FRAC) << DEMON_ACT_TABLE_FMT_FRAC_LSB);

    // Address classes.
    localparam [3:0] K_NONE = 4'd0;     // unmapped: SLVERR
    localparam [3:0] K_RO = 4'd1;       // read-only register
    localparam [3:0] K_CTRL = 4'd2;
    localparam [3:0] K_SCRATCH = 4'd3;
    localparam [3:0] K_SCHED_K = 4'd4;
    localparam [3:0] K_CAP = 4'd5;      // CAP_DATA entry < N (read-only)
    localparam [3:0] K_DWELL = 4'd6;    // POLY_DWELL
    localparam [3:0] K_IRQ = 4'd7;      // IRQ_ENABLE, IRQ_STATUS (write 1 to clear), IRQ_THRESHOLD
    localparam [3:0] K_A = 4'd8;        // COEF_A entry < N*N (linear); ACT_TABLE entry < T_N (MLP)
    localparam [3:0] K_B = 4'd9;        // COEF_B entry < N (linear)
    localparam [3:0] K_MW = 4'd10;      // MLP_W entry < unit_w_entries (MLP)
    localparam [3:0] K_MB = 4'd11;      // MLP_B entry < unit_b_entries (MLP)
    localparam [3:0] K_SS = 4'd12;      // SCHED_SCALE entry < SCHED_LEN (MLP)
    localparam [3:0] K_SD = 4'd13;      // SCHED_DRIFT entry < SCHED_LEN (MLP)
    localparam [3:0] K_SN = 4'd14;      // SCHED_NOISE entry < SCHED_LEN (MLP)
    localparam [3:0] K_SE = 4'd15;      // SCHED_EMB entry < SCHED_LEN*EMB (MLP)
    // The force unit's array kinds are 8..15; their low three bits are the array port's cfg_tgt.
    // A polynomial instance maps POLY_A, POLY_C, POLY_H, POLY_G as kinds 10..13 (cfg_tgt 2..5).

    // Entries each array maps in this instance (0: unmapped).
    localparam integer A_N = IS_MLP ? 0 : N * N;
    localparam integer B_N = IS_MLP ? 0 : N;
    localparam integer S_N = IS_MLP ? SCHED_LEN : 0;
    localparam integer E_N = IS_MLP ? SCHED_LEN * EMB : 0;
    localparam integer P_N = IS_POLY ? SCHED_LEN * N : 0;
    localparam integer PG_N = IS_POLY ? SCHED_LEN : 0;
    // ACT_TABLE (MLP with a table activation): kind K_A, whose array port code 0 is free in an
    // MLP instance (COEF_A is not mapped there); demon_top routes it to demon_mlp's table.
    localparam integer T_N = (HAS_TABLE == 1) ? (1 << TABLE_BITS) + 1 : 0;

    initial begin
        if (N < 1 || N > 64 || N * N > DEMON_COEF_A_MAX_ENTRIES || N > DEMON_COEF_B_MAX_ENTRIES) begin
            $error("%m: N must be 1..64, got %0d", N);
            $finish;
        end
        if (MULTIPLIERS < 1 || MULTIPLIERS > (IS_MLP ? 128 : N)) begin
            $error("%m: MULTIPLIERS must be 1..%0d, got %0d", IS_MLP ? 128 : N, MULTIPLIERS);
            $finish;
        end
        if (X_BITS < 2 || X_BITS > 24 || F_BITS < 2 || F_BITS > 24) begin
            $error("%m: X_BITS and F_BITS must be 2..24, got %0d and %0d", X_BITS, F_BITS);
            $finish;
        end
        if (COEF_INT < 1 || COEF_FRAC < 0 || COEF_INT + COEF_FRAC < 2 || COEF_INT + COEF_FRAC > 32
                || BIAS_INT < 1 || BIAS_FRAC < 0 || BIAS_W < 2 || BIAS_W > 32) begin
            $error("%m: formats Q(%0d,%0d) and Q(%0d,%0d) need int >= 1, frac >= 0, width 2..32",
                   COEF_INT, COEF_FRAC, BIAS_INT, BIAS_FRAC);
            $finish;
        end
        if (ROUNDING < 0 || ROUNDING > 2 || OVERFLOW < 0 || OVERFLOW > 1) begin
            $error("%m: ROUNDING must be 0..2 and OVERFLOW 0..1, got %0d and %0d", ROUNDING, OVERFLOW);
            $finish;
        end
        if (FORCE_UNIT < 0 || FORCE_UNIT > 2) begin
            $error("%m: FORCE_UNIT must be 0 (linear), 1 (MLP) or 2 (polynomial), got %0d", FORCE_UNIT);
            $finish;
        end
        if (IS_POLY && (SCHED_LEN > DEMON_POLY_G_MAX_ENTRIES || SCHED_LEN * N > DEMON_POLY_A_MAX_ENTRIES)) begin
            $error("%m: SCHED_LEN=%0d (N=%0d) exceeds the polynomial schedule arrays", SCHED_LEN, N);
            $finish;
        end
        if (IS_MLP && (SCHED_LEN > DEMON_SCHED_SCALE_MAX_ENTRIES || SCHED_LEN * EMB > DEMON_SCHED_EMB_MAX_ENTRIES)) begin
            $error("%m: SCHED_LEN=%0d (EMB=%0d) exceeds the schedule arrays", SCHED_LEN, EMB);
            $finish;
        end
    end

    // Is a32 an entry < n of the array at base?
    function in_array;
        input [31:0] a32;
        input [15:0] base;
        input [31:0] n;
        begin
            in_array = (a32 >= {16'd0, base}) && (a32 < {16'd0, base} + 32'd4 * n);
        end
    endfunction

    // Class of a byte address. Accesses are word accesses: address bits [1:0] are ignored.
    function [3:0] kind_of;
        /* verilator lint_off UNUSEDSIGNAL */
        input [15:0] addr;
        /* verilator lint_on UNUSEDSIGNAL */
        input [31:0] w_n;    // MLP_W entries mapped
        input [31:0] b_n;    // MLP_B entries mapped
        reg [31:0] a32;
        begin
            a32 = {16'd0, addr[15:2], 2'b00};
            case ({addr[15:2], 2'b00})
                DEMON_ID_OFFSET, DEMON_VERSION_OFFSET, DEMON_SHAPE_OFFSET, DEMON_WIDTHS_OFFSET,
                DEMON_FORMAT_OFFSET, DEMON_TIMING_OFFSET, DEMON_STATUS_OFFSET, DEMON_CNT_IN_OFFSET,
                DEMON_CNT_OUT_OFFSET, DEMON_CNT_DROP_OFFSET, DEMON_CNT_SAT_OFFSET,
                DEMON_CAP_STATUS_OFFSET, DEMON_CAP_SEQ_OFFSET,
                DEMON_UNIT_OFFSET, DEMON_MLP_SHAPE_OFFSET, DEMON_MLP_WIDTHS_OFFSET, DEMON_MLP_FORMAT_OFFSET,
                DEMON_SCHED_LEN_OFFSET, DEMON_STEP_OFFSET, DEMON_POLY_FORMAT_OFFSET,
                DEMON_ACT_TABLE_FMT_OFFSET:
                    kind_of = K_RO;
                DEMON_POLY_DWELL_OFFSET:
                    kind_of = K_DWELL;
                DEMON_CTRL_OFFSET:
                    kind_of = K_CTRL;
                DEMON_IRQ_ENABLE_OFFSET, DEMON_IRQ_STATUS_OFFSET, DEMON_IRQ_THRESHOLD_OFFSET:
                    kind_of = K_IRQ;
                DEMON_SCRATCH_OFFSET:
                    kind_of = K_SCRATCH;
                DEMON_SCHED_K_OFFSET:
                    kind_of = K_SCHED_K;
                default:
                    if (in_array(a32, DEMON_COEF_A_OFFSET, A_N)) kind_of = K_A;
                    else if (in_array(a32, DEMON_COEF_B_OFFSET, B_N)) kind_of = K_B;
                    else if (in_array(a32, DEMON_CAP_DATA_OFFSET, N)) kind_of = K_CAP;
                    else if (in_array(a32, DEMON_MLP_W_OFFSET, w_n)) kind_of = K_MW;
                    else if (in_array(a32, DEMON_MLP_B_OFFSET, b_n)) kind_of = K_MB;
                    else if (in_array(a32, DEMON_SCHED_SCALE_OFFSET, S_N)) kind_of = K_SS;
                    else if (in_array(a32, DEMON_SCHED_DRIFT_OFFSET, S_N)) kind_of = K_SD;
                    else if (in_array(a32, DEMON_SCHED_NOISE_OFFSET, S_N)) kind_of = K_SN;
                    else if (in_array(a32, DEMON_SCHED_EMB_OFFSET, E_N)) kind_of = K_SE;
                    else if (in_array(a32, DEMON_POLY_A_OFFSET, P_N)) kind_of = K_MW;
                    else if (in_array(a32, DEMON_POLY_C_OFFSET, P_N)) kind_of = K_MB;
                    else if (in_array(a32, DEMON_POLY_H_OFFSET, P_N)) kind_of = K_SS;
                    else if (in_array(a32, DEMON_POLY_G_OFFSET, PG_N)) kind_of = K_SD;
                    else if (in_array(a32, DEMON_ACT_TABLE_OFFSET, T_N)) kind_of = K_A;
                    else kind_of = K_NONE;
            endcase
        end
    endfunction

    // Base address of an array kind.
    function [15:0] base_of;
        input [3:0] kind;
        begin
            case (kind)
                K_B:     base_of = DEMON_COEF_B_OFFSET;
                K_MW:    base_of = IS_POLY ? DEMON_POLY_A_OFFSET : DEMON_MLP_W_OFFSET;
                K_MB:    base_of = IS_POLY ? DEMON_POLY_C_OFFSET : DEMON_MLP_B_OFFSET;
                K_SS:    base_of = IS_POLY ? DEMON_POLY_H_OFFSET : DEMON_SCHED_SCALE_OFFSET;
                K_SD:    base_of = IS_POLY ? DEMON_POLY_G_OFFSET : DEMON_SCHED_DRIFT_OFFSET;
                K_SN:    base_of = DEMON_SCHED_NOISE_OFFSET;
                K_SE:    base_of = DEMON_SCHED_EMB_OFFSET;
                K_A:     base_of = IS_MLP ? DEMON_ACT_TABLE_OFFSET : DEMON_COEF_A_OFFSET;
                default: base_of = DEMON_COEF_A_OFFSET;
            endcase
        end
    endfunction

    // Entry index of an array address (meaningful for the force unit's array kinds only): the word
    // offset from the array base; byte-address bits [1:0] are ignored, and bits above the largest
    // array (8192 entries) are zero for every address kind_of maps to such an array.
    function [12:0] idx_of;
        input [15:0] addr;
        input [3:0]  kind;
        /* verilator lint_off UNUSEDSIGNAL */
        reg [15:0] rel;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            rel = addr - base_of(kind);
            idx_of = rel[14:2];   // exact for every array address (< 8192 entries)
        end
    endfunction

    wire [31:0] w_entries = {18'd0, unit_w_entries};
    wire [31:0] b_entries = {22'd0, unit_b_entries};

    // ------------------------------------------------------------------------------------------
    // Registers and counters
    // ------------------------------------------------------------------------------------------

    reg        enable_q;
    reg [31:0] scratch_q;
    reg [31:0] sched_k_q;
    reg [31:0] dwell_q;
    reg [31:0] cnt_in;
    reg [31:0] cnt_out;
    reg [31:0] cnt_drop;
    reg [31:0] cnt_sat;
    localparam integer IRQ_BITS = 5;
    reg [IRQ_BITS-1:0] irq_enable_q;
    reg [IRQ_BITS-1:0] irq_status_q;
    reg [8:0]  irq_threshold_q;
    reg        irq_q;

    assign ctrl_enable = enable_q;
    assign irq = irq_q;
    assign ctrl_sched_k = sched_k_q[15:0];
    assign ctrl_dwell = dwell_q[15:0];

    // ------------------------------------------------------------------------------------------
    // Write channel
    // ------------------------------------------------------------------------------------------

    reg       bvalid_q;
    reg [1:0] bresp_q;

    wire       wr_go = s_axil_awvalid && s_axil_wvalid && !bvalid_q;
    wire [3:0] wr_kind = kind_of(s_axil_awaddr, w_entries, b_entries);
    wire       wr_arr = wr_kind[3];          // the force unit's arrays (CAP_DATA is read-only)
    wire       wr_ok = (wr_kind == K_CTRL) || (wr_kind == K_SCRATCH) || (wr_kind == K_SCHED_K)
                    || (wr_kind == K_DWELL) || (wr_kind == K_IRQ) || wr_arr;
    wire [15:0] wr_word = {s_axil_awaddr[15:2], 2'b00};
    wire       wr_irq_enable = wr_go && (wr_kind == K_IRQ) && (wr_word == DEMON_IRQ_ENABLE_OFFSET) && s_axil_wstrb[0];
    wire       wr_irq_status = wr_go && (wr_kind == K_IRQ) && (wr_word == DEMON_IRQ_STATUS_OFFSET) && s_axil_wstrb[0];
    wire       wr_irq_threshold = wr_go && (wr_kind == K_IRQ) && (wr_word == DEMON_IRQ_THRESHOLD_OFFSET);
    wire       wr_ctrl = wr_go && (wr_kind == K_CTRL) && s_axil_wstrb[0];
    wire       clear = wr_ctrl && s_axil_wdata[DEMON_CTRL_CLEAR_LSB];

    assign cap_clear = wr_ctrl && s_axil_wdata[DEMON_CTRL_CAP_CLEAR_LSB];
    assign ctrl_step_reset = wr_ctrl && s_axil_wdata[DEMON_CTRL_STEP_RESET_LSB];

    assign s_axil_awready = wr_go;
    assign s_axil_wready = wr_go;
    assign s_axil_bvalid = bvalid_q;
    assign s_axil_bresp = bresp_q;

    integer bi;
    always @(posedge clk) begin
        if (rst) begin
            bvalid_q <= 1'b0;
            bresp_q <= RESP_OKAY;
            enable_q <= DEMON_CTRL_RESET[DEMON_CTRL_ENABLE_LSB];
            scratch_q <= DEMON_SCRATCH_RESET;
            sched_k_q <= DEMON_SCHED_K_RESET;
            dwell_q <= DEMON_POLY_DWELL_RESET;
        end else begin
            if (bvalid_q && s_axil_bready) begin
                bvalid_q <= 1'b0;
            end
            if (wr_go) begin
                bvalid_q <= 1'b1;
                bresp_q <= wr_ok ? RESP_OKAY : RESP_SLVERR;
                if (wr_ctrl) begin
                    enable_q <= s_axil_wdata[DEMON_CTRL_ENABLE_LSB];
                end
                if (wr_kind == K_SCRATCH) begin
                    for (bi = 0; bi < 4; bi = bi + 1) begin
                        if (s_axil_wstrb[bi]) scratch_q[bi*8 +: 8] <= s_axil_wdata[bi*8 +: 8];
                    end
                end
                if (wr_kind == K_SCHED_K) begin
                    for (bi = 0; bi < 4; bi = bi + 1) begin
                        if (s_axil_wstrb[bi]) sched_k_q[bi*8 +: 8] <= s_axil_wdata[bi*8 +: 8];
                    end
                end
                if (wr_kind == K_DWELL) begin
                    for (bi = 0; bi < 4; bi = bi + 1) begin
                        if (s_axil_wstrb[bi]) dwell_q[bi*8 +: 8] <= s_axil_wdata[bi*8 +: 8];
                    end
                end
            end
        end
    end

    // ------------------------------------------------------------------------------------------
    // Read channel
    // ------------------------------------------------------------------------------------------

    reg        rd_pend;          // AR accepted, coefficient memory output valid this cycle
    reg [15:0] rd_addr_q;        // word address of the read in flight
    reg [3:0]  rd_kind_q;
    reg        rvalid_q;
    reg [1:0]  rresp_q;
    reg [31:0] rdata_q;

    wire       rd_go = s_axil_arvalid && !rd_pend && !rvalid_q && !wr_go;
    wire [3:0] rd_kind = kind_of(s_axil_araddr, w_entries, b_entries);

    assign s_axil_arready = rd_go;
    assign s_axil_rvalid = rvalid_q;
    assign s_axil_rresp = rresp_q;
    assign s_axil_rdata = rdata_q;

    reg [31:0] rd_value;
    always @* begin
        case (rd_addr_q)
            DEMON_ID_OFFSET:      rd_value = DEMON_ID_RESET;
            DEMON_VERSION_OFFSET: rd_value = DEMON_VERSION_RESET;
            DEMON_SHAPE_OFFSET:   rd_value = SHAPE_VALUE;
            DEMON_WIDTHS_OFFSET:  rd_value = WIDTHS_VALUE;
            DEMON_FORMAT_OFFSET:  rd_value = FORMAT_VALUE;
            DEMON_TIMING_OFFSET:  rd_value = timing_value;
            DEMON_CTRL_OFFSET:    rd_value = {31'd0, enable_q} << DEMON_CTRL_ENABLE_LSB;
            DEMON_STATUS_OFFSET:  rd_value = ({31'd0, st_busy} << DEMON_STATUS_BUSY_LSB)
                                           | ({31'd0, st_out_valid} << DEMON_STATUS_OUT_VALID_LSB)
                                           | ({31'd0, st_in_ready} << DEMON_STATUS_IN_READY_LSB);
            DEMON_CNT_IN_OFFSET:  rd_value = cnt_in;
            DEMON_CNT_OUT_OFFSET: rd_value = cnt_out;
            DEMON_CNT_DROP_OFFSET: rd_value = cnt_drop;
            DEMON_CNT_SAT_OFFSET: rd_value = cnt_sat;
            DEMON_SCRATCH_OFFSET: rd_value = scratch_q;
            DEMON_CAP_STATUS_OFFSET: rd_value = ({23'd0, cap_level} << DEMON_CAP_STATUS_LEVEL_LSB)
                                              | (CAP_DEPTH_FIELD << DEMON_CAP_STATUS_DEPTH_LSB)
                                              | ({31'd0, cap_overflow} << DEMON_CAP_STATUS_OVERFLOW_LSB)
                                              | ({31'd0, cap_underflow} << DEMON_CAP_STATUS_UNDERFLOW_LSB);
            DEMON_CAP_SEQ_OFFSET: rd_value = cap_seq;
            DEMON_IRQ_ENABLE_OFFSET: rd_value = {{(32-IRQ_BITS){1'b0}}, irq_enable_q};
            DEMON_IRQ_STATUS_OFFSET: rd_value = {{(32-IRQ_BITS){1'b0}}, irq_status_q};
            DEMON_IRQ_THRESHOLD_OFFSET: rd_value = {23'd0, irq_threshold_q};
            DEMON_UNIT_OFFSET:    rd_value = UNIT_VALUE;
            DEMON_MLP_SHAPE_OFFSET: rd_value = MLP_SHAPE_VALUE;
            DEMON_MLP_WIDTHS_OFFSET: rd_value = MLP_WIDTHS_VALUE;
            DEMON_MLP_FORMAT_OFFSET: rd_value = MLP_FORMAT_VALUE;
            DEMON_SCHED_LEN_OFFSET: rd_value = SCHED_LEN_VALUE;
            DEMON_SCHED_K_OFFSET: rd_value = sched_k_q;
            DEMON_STEP_OFFSET:    rd_value = {16'd0, st_step};
            DEMON_POLY_DWELL_OFFSET: rd_value = dwell_q;
            DEMON_POLY_FORMAT_OFFSET: rd_value = POLY_FORMAT_VALUE;
            DEMON_ACT_TABLE_FMT_OFFSET: rd_value = ACT_TABLE_FMT_VALUE;
            default:              rd_value = 32'd0;
        endcase
        if (rd_kind_q[3]) begin
            rd_value = cfg_rdata;
        end else if (rd_kind_q == K_CAP) begin
            rd_value = cap_word;
        end else if (rd_kind_q == K_NONE) begin
            rd_value = 32'd0;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            rd_pend <= 1'b0;
            rvalid_q <= 1'b0;
            rresp_q <= RESP_OKAY;
            rdata_q <= 32'd0;
            rd_addr_q <= 16'd0;
            rd_kind_q <= K_NONE;
        end else begin
            if (rvalid_q && s_axil_rready) begin
                rvalid_q <= 1'b0;
            end
            if (rd_go) begin
                rd_pend <= 1'b1;
                rd_addr_q <= {s_axil_araddr[15:2], 2'b00};
                rd_kind_q <= rd_kind;
            end
            if (rd_pend) begin
                rd_pend <= 1'b0;
                rvalid_q <= 1'b1;
                rresp_q <= (rd_kind_q == K_NONE) ? RESP_SLVERR : RESP_OKAY;
                rdata_q <= rd_value;
            end
        end
    end

    // Capture FIFO: the channel of the pending read; the last channel pops as RDATA is registered.
    // Only bits [7:2] of the offset from the array base matter (entries < 64).
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] cap_rel = rd_addr_q - DEMON_CAP_DATA_OFFSET;
    /* verilator lint_on UNUSEDSIGNAL */
    assign cap_chan = cap_rel[7:2];
    assign cap_pop = rd_pend && (rd_kind_q == K_CAP) && (cap_chan == CAP_LAST);

    // ------------------------------------------------------------------------------------------
    // Array port: the write address while a write is accepted, else the read address.
    // ------------------------------------------------------------------------------------------

    assign cfg_we = wr_go && wr_arr;
    assign cfg_tgt = wr_go ? wr_kind[2:0] : rd_kind[2:0];
    assign cfg_idx = wr_go ? idx_of(s_axil_awaddr, wr_kind) : idx_of(s_axil_araddr, rd_kind);
    assign cfg_be = s_axil_wstrb;
    assign cfg_wdata = s_axil_wdata;

    // ------------------------------------------------------------------------------------------
    // Counters
    // ------------------------------------------------------------------------------------------

    localparam [31:0] CNT_MAX = 32'hFFFF_FFFF;
    wire [32:0] sat_sum = {1'b0, cnt_sat} + {23'd0, ev_sat};

    always @(posedge clk) begin
        if (rst || clear) begin
            cnt_in <= DEMON_CNT_IN_RESET;
            cnt_out <= DEMON_CNT_OUT_RESET;
            cnt_drop <= DEMON_CNT_DROP_RESET;
            cnt_sat <= DEMON_CNT_SAT_RESET;
        end else begin
            if (ev_in && cnt_in != CNT_MAX) cnt_in <= cnt_in + 1'b1;
            if (ev_out && cnt_out != CNT_MAX) cnt_out <= cnt_out + 1'b1;
            if (ev_drop && cnt_drop != CNT_MAX) cnt_drop <= cnt_drop + 1'b1;
            if (ev_out) cnt_sat <= sat_sum[32] ? CNT_MAX : sat_sum[31:0];   // SAT at 0xFFFFFFFF
        end
    end

    // ------------------------------------------------------------------------------------------
    // Interrupts: each IRQ_STATUS bit is set at every clock its condition holds, cleared by a
    // write of 1 (write 1 to clear); irq is registered.
    // ------------------------------------------------------------------------------------------

    wire [8:0] irq_level_min = (irq_threshold_q == 9'd0) ? 9'd1 : irq_threshold_q;
    wire       slverr_ev = (bvalid_q && s_axil_bready && bresp_q == RESP_SLVERR)
                           || (rvalid_q && s_axil_rready && rresp_q == RESP_SLVERR);
    wire       cnt_ev = (ev_drop && cnt_drop != CNT_MAX) || (ev_out && ev_sat != 10'd0 && cnt_sat != CNT_MAX);
    wire [IRQ_BITS-1:0] irq_cond = {
        slverr_ev,                                          // BUS_ERROR
        cnt_ev,                                             // COUNTERS
        !enable_q && !st_busy && !st_out_valid,             // IDLE
        cap_overflow,                                       // CAP_OVERFLOW
        cap_level >= irq_level_min                          // CAP_LEVEL
    };
    wire [IRQ_BITS-1:0] irq_w1c = wr_irq_status ? s_axil_wdata[IRQ_BITS-1:0] : {IRQ_BITS{1'b0}};

    always @(posedge clk) begin
        if (rst) begin
            irq_enable_q <= DEMON_IRQ_ENABLE_RESET[IRQ_BITS-1:0];
            irq_status_q <= DEMON_IRQ_STATUS_RESET[IRQ_BITS-1:0];
            irq_threshold_q <= DEMON_IRQ_THRESHOLD_RESET[8:0];
            irq_q <= 1'b0;
        end else begin
            irq_status_q <= (irq_status_q & ~irq_w1c) | irq_cond;
            irq_q <= |(irq_status_q & irq_enable_q);
            if (wr_irq_enable) irq_enable_q <= s_axil_wdata[IRQ_BITS-1:0];
            if (wr_irq_threshold) begin
                if (s_axil_wstrb[0]) irq_threshold_q[7:0] <= s_axil_wdata[7:0];
                if (s_axil_wstrb[1]) irq_threshold_q[8] <= s_axil_wdata[8];
            end
        end
    end

    // AXI protection bits carry no meaning here; the `unused` name tells Verilator so.
    wire unused_prot = ^{s_axil_awprot, s_axil_arprot};

endmodule

`resetall
