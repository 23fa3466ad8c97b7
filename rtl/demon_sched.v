`default_nettype none
// demon_sched: the schedule unit of the score-network demon, twin of the step counter and the
// schedule table of emulator/demon/mlp.py (MLPDemon).
//
// Table (one row per step k, written by firmware over AXI4-Lite, raw fixed point):
//   SCHED_SCALE[k]         force_scale[k], Q(SCALE_INT, SCALE_FRAC)
//   SCHED_DRIFT[k]         drift_ctrl[k], Q(1, CTRL_BITS-1)
//   SCHED_NOISE[k]         noise_ctrl[k], Q(1, CTRL_BITS-1)
//   SCHED_EMB[k*EMB + e]   emb[k][e], Q(ACT_INT, ACT_FRAC)
// Each is a demon_bank (dual-port block RAM, synchronous reads, no reset). Port A is the
// configuration port; port B feeds the engine.
//
// Step counter: `step` is the row the next accepted word uses. With K = sched_k clamped to
// 1..SCHED_LEN (the rows in use, register SCHED_K), an accepted word (accept = 1 at a clock edge)
// latches row = min(step, K-1) and sets step <= min(step + 1, K - 1): it counts accepted words
// and saturates at K-1. step_reset (CTRL.STEP_RESET) sets step to 0 at that edge; a word accepted
// at the same edge still uses the old step's row. Reset (rst) also clears it.
//
// Outputs for the word in flight (the latched row): scale, drift, noise are port-B reads of the
// row, valid from the second cycle after the accept edge on and until the next accept; emb_rdata
// is the embedding entry emb_idx (presented one cycle earlier) of that row, valid from the cycle
// after the accept edge on (the engine addresses it one MAC step ahead). A table entry written
// while a word is in flight may or may not take part in it.
module demon_sched #(
    // Time-embedding entries per row E; 0..16 (0: no embedding memory is built).
    parameter integer EMB = 2,
    // Integer bits of the embedding (activation format), sign included; >= 1.
    parameter integer ACT_INT = 4,
    // Fractional bits of the embedding; >= 0, ACT_INT + ACT_FRAC in 2..24.
    parameter integer ACT_FRAC = 8,
    // Integer bits of force_scale, sign included; >= 1.
    parameter integer SCALE_INT = 4,
    // Fractional bits of force_scale; >= 0, SCALE_INT + SCALE_FRAC in 2..32.
    parameter integer SCALE_FRAC = 8,
    // Width of the analog control codes (Q(1, CTRL_BITS-1)); 2..16.
    parameter integer CTRL_BITS = 8,
    // Table capacity in rows; 1..512, and SCHED_LEN * EMB <= 1024.
    parameter integer SCHED_LEN = 16
) (
    input  wire                            clk,
    input  wire                            rst,          // synchronous, active high
    input  wire                            accept,       // a word is accepted at this edge
    input  wire                            step_reset,   // CTRL.STEP_RESET: step to 0 at this edge
    input  wire [15:0]                     sched_k,      // SCHED_K: rows in use (clamped 1..SCHED_LEN)
    output wire [15:0]                     step,         // the row the next word uses
    // engine side, for the word in flight
    input  wire [4:0]                      emb_idx,      // embedding entry read next cycle
    output wire [ACT_INT+ACT_FRAC-1:0]     emb_rdata,
    output wire [SCALE_INT+SCALE_FRAC-1:0] scale,
    output wire [CTRL_BITS-1:0]            drift,
    output wire [CTRL_BITS-1:0]            noise,
    // configuration port (port A of the table memories)
    input  wire [1:0]                      cfg_sel,      // 0 SCALE, 1 DRIFT, 2 NOISE, 3 EMB
    input  wire [12:0]                     cfg_idx,      // entry index (checked by demon_axil)
    input  wire                            cfg_we,       // write this cycle (cfg_sel's memory)
    input  wire [3:0]                      cfg_be,
    input  wire [31:0]                     cfg_wdata,    // low bits of the entry's width are kept
    output wire [31:0]                     cfg_rdata     // previous cycle's entry, sign-extended
);

    `include "demon_util.vh"

    localparam integer ACT_W_RAW = ACT_INT + ACT_FRAC;
    localparam integer SCALE_W_RAW = SCALE_INT + SCALE_FRAC;
    localparam integer ACT_W = (ACT_W_RAW < 2) ? 2 : (ACT_W_RAW > 32) ? 32 : ACT_W_RAW;
    localparam integer SCALE_W = (SCALE_W_RAW < 2) ? 2 : (SCALE_W_RAW > 32) ? 32 : SCALE_W_RAW;
    localparam integer CTRL_W = (CTRL_BITS < 2) ? 2 : (CTRL_BITS > 32) ? 32 : CTRL_BITS;
    localparam integer LEN = (SCHED_LEN < 1) ? 1 : (SCHED_LEN > 4096) ? 4096 : SCHED_LEN;
    localparam integer EMB_S = (EMB < 1) ? 1 : (EMB > 16) ? 16 : EMB;
    localparam integer ROW_AW = clog2_1(LEN);
    localparam integer EMB_AW = clog2_1(LEN * EMB_S);
    localparam [15:0] LEN16 = LEN[15:0];
    localparam [15:0] EMB16 = EMB_S[15:0];

    initial begin
        if (EMB < 0 || EMB > 16) begin
            $error("%m: EMB must be 0..16, got %0d", EMB);
            $finish;
        end
        if (ACT_INT < 1 || ACT_FRAC < 0 || ACT_W_RAW < 2 || ACT_W_RAW > 24) begin
            $error("%m: embedding format Q(%0d,%0d) needs ACT_INT >= 1, ACT_FRAC >= 0, width 2..24",
                   ACT_INT, ACT_FRAC);
            $finish;
        end
        if (SCALE_INT < 1 || SCALE_FRAC < 0 || SCALE_W_RAW < 2 || SCALE_W_RAW > 32) begin
            $error("%m: scale format Q(%0d,%0d) needs SCALE_INT >= 1, SCALE_FRAC >= 0, width 2..32",
                   SCALE_INT, SCALE_FRAC);
            $finish;
        end
        if (CTRL_BITS < 2 || CTRL_BITS > 16) begin
            $error("%m: CTRL_BITS must be 2..16, got %0d", CTRL_BITS);
            $finish;
        end
        if (SCHED_LEN < 1 || SCHED_LEN > 512) begin
            $error("%m: SCHED_LEN must be 1..512, got %0d", SCHED_LEN);
            $finish;
        end
        if (SCHED_LEN * EMB > 1024) begin
            $error("%m: SCHED_LEN * EMB = %0d embedding entries, the table holds 1024", SCHED_LEN * EMB);
            $finish;
        end
    end

    // ------------------------------------------------------------------------------------------
    // Step counter
    // ------------------------------------------------------------------------------------------

    // K - 1 with K = sched_k clamped to 1..SCHED_LEN.
    wire [15:0] k_last = (sched_k == 16'd0) ? 16'd0 : (sched_k > LEN16) ? LEN16 - 16'd1 : sched_k - 16'd1;
    reg  [15:0] step_q;
    wire        at_end = (step_q >= k_last);
    wire [15:0] row = at_end ? k_last : step_q;

    reg [ROW_AW-1:0] row_q;       // row of the word in flight
    reg [EMB_AW-1:0] row_base_q;  // row_q * EMB: first embedding entry of the row

    // The row is below SCHED_LEN <= 512, so its low ROW_AW bits are all of it; row * EMB is below
    // SCHED_LEN * EMB <= 1024, likewise its low EMB_AW bits.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] row_base = row * EMB16;
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (rst || step_reset) begin
            step_q <= 16'd0;
        end else if (accept) begin
            step_q <= at_end ? k_last : step_q + 16'd1;
        end
        if (rst) begin
            row_q <= {ROW_AW{1'b0}};
            row_base_q <= {EMB_AW{1'b0}};
        end else if (accept) begin
            row_q <= row[ROW_AW-1:0];
            row_base_q <= row_base[EMB_AW-1:0];
        end
    end
    assign step = step_q;

    // ------------------------------------------------------------------------------------------
    // Table memories
    // ------------------------------------------------------------------------------------------

    wire [SCALE_W-1:0] scale_cfg;
    wire [CTRL_W-1:0]  drift_cfg;
    wire [CTRL_W-1:0]  noise_cfg;
    wire [ACT_W-1:0]   emb_cfg;
    wire [ROW_AW-1:0]  cfg_row = cfg_idx[ROW_AW-1:0];    // < SCHED_LEN (demon_axil checks)

    demon_bank #(.WIDTH(SCALE_W), .ADDR_W(ROW_AW)) u_scale (
        .clk(clk),
        .a_we(cfg_we && cfg_sel == 2'd0),
        .a_be(cfg_be[(SCALE_W+7)/8-1:0]),
        .a_addr(cfg_row),
        .a_wdata(cfg_wdata[SCALE_W-1:0]),    // low SCALE_W bits of the bus word (regmap: WRAP)
        .a_rdata(scale_cfg),
        .b_addr(row_q),
        .b_rdata(scale)
    );

    demon_bank #(.WIDTH(CTRL_W), .ADDR_W(ROW_AW)) u_drift (
        .clk(clk),
        .a_we(cfg_we && cfg_sel == 2'd1),
        .a_be(cfg_be[(CTRL_W+7)/8-1:0]),
        .a_addr(cfg_row),
        .a_wdata(cfg_wdata[CTRL_W-1:0]),     // low CTRL_BITS bits of the bus word (regmap: WRAP)
        .a_rdata(drift_cfg),
        .b_addr(row_q),
        .b_rdata(drift)
    );

    demon_bank #(.WIDTH(CTRL_W), .ADDR_W(ROW_AW)) u_noise (
        .clk(clk),
        .a_we(cfg_we && cfg_sel == 2'd2),
        .a_be(cfg_be[(CTRL_W+7)/8-1:0]),
        .a_addr(cfg_row),
        .a_wdata(cfg_wdata[CTRL_W-1:0]),     // low CTRL_BITS bits of the bus word (regmap: WRAP)
        .a_rdata(noise_cfg),
        .b_addr(row_q),
        .b_rdata(noise)
    );

    generate
        if (EMB > 0) begin : g_emb
            // emb_idx < EMB <= 16, row_base_q + emb_idx < SCHED_LEN * EMB: the sum's low bits.
            wire [EMB_AW+4:0] emb_addr = {5'd0, row_base_q} + {{EMB_AW{1'b0}}, emb_idx};
            demon_bank #(.WIDTH(ACT_W), .ADDR_W(EMB_AW)) u_emb (
                .clk(clk),
                .a_we(cfg_we && cfg_sel == 2'd3),
                .a_be(cfg_be[(ACT_W+7)/8-1:0]),
                .a_addr(cfg_idx[EMB_AW-1:0]),
                .a_wdata(cfg_wdata[ACT_W-1:0]),  // low ACT_W bits of the bus word (regmap: WRAP)
                .a_rdata(emb_cfg),
                .b_addr(emb_addr[EMB_AW-1:0]),
                .b_rdata(emb_rdata)
            );
            wire unused_emb = ^emb_addr[EMB_AW+4:EMB_AW];
        end else begin : g_no_emb
            assign emb_cfg = {ACT_W{1'b0}};
            assign emb_rdata = {ACT_W{1'b0}};
            wire unused_emb = ^{emb_idx, row_base_q};
        end
    endgenerate

    // Configuration reads: the entry addressed in the previous cycle, sign-extended.
    reg [1:0] cfg_sel_q;
    always @(posedge clk) begin
        cfg_sel_q <= cfg_sel;
    end

    assign cfg_rdata = (cfg_sel_q == 2'd0) ? {{(33 - SCALE_W){scale_cfg[SCALE_W-1]}}, scale_cfg[SCALE_W-2:0]}
                     : (cfg_sel_q == 2'd1) ? {{(33 - CTRL_W){drift_cfg[CTRL_W-1]}}, drift_cfg[CTRL_W-2:0]}
                     : (cfg_sel_q == 2'd2) ? {{(33 - CTRL_W){noise_cfg[CTRL_W-1]}}, noise_cfg[CTRL_W-2:0]}
                     : {{(33 - ACT_W){emb_cfg[ACT_W-1]}}, emb_cfg[ACT_W-2:0]};

    // Bits of cfg_idx above the table's address and of cfg_wdata/cfg_be above the entry width are
    // ignored by design; the `unused` name tells Verilator so.
    wire unused_cfg = ^{cfg_idx, cfg_wdata, cfg_be};

endmodule

`resetall
