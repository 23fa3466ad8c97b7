`default_nettype none
// demon_top: the demon as the FPGA sees it: a force unit behind an AXI4-Lite slave (demon_axil)
// for configuration, coefficients and status counters, and the capture FIFO of the ADC samples.
// FORCE_UNIT selects the unit:
//
//   0  demon_linear, f = b - A x (COEF_A, COEF_B); out_data = N force codes
//   1  demon_mlp, the score network with its schedule unit demon_sched (MLP_W, MLP_B,
//      SCHED_SCALE/DRIFT/NOISE/EMB, SCHED_K, STEP, CTRL.STEP_RESET); out_data = N force codes,
//      then drift_ctrl at [N*F_BITS +: CTRL_BITS] and noise_ctrl at [N*F_BITS+CTRL_BITS +: CTRL_BITS]
//   2  demon_poly, the polynomial (Ising) unit around demon_linear: couplings J, b in COEF_A/COEF_B,
//      schedule POLY_A/C/H/G in Q(SCALE_INT, SCALE_FRAC), SCHED_K, POLY_DWELL, STEP,
//      CTRL.STEP_RESET; out_data = N force codes
//
//   ADC --in_valid/in_ready/in_data--> [ENABLE gate] --> force unit --out_*--> DAC
//                                                         ^ cfg port (the unit's memories)
//   CPU --s_axil_*--> demon_axil (CTRL, STATUS, counters, ID/SHAPE/WIDTHS/FORMAT/TIMING, UNIT, MLP_*)
//                        ^ CAP_STATUS / CAP_SEQ / CAP_DATA
//   every accepted input word ──> demon_capture (FIFO of CAP_DEPTH samples, with sequence numbers)
//
// in_ready = CTRL.ENABLE && the unit's ready (idle && (!out_valid || out_ready)).
// While ENABLE is 0 the input is not ready and neither CNT_IN nor CNT_DROP moves; a word already
// accepted still completes and is delivered (and counted in CNT_OUT and CNT_SAT), so that
// CNT_IN == CNT_OUT once the unit is idle. CNT_DROP counts the cycles with in_valid && !in_ready
// while ENABLE is 1 (an ADC sample offered for one cycle and refused is one drop).
//
// Every parameter is passed to the children and range-checked there at elaboration (the unit
// checks its datapath constraints, demon_axil the register fields, demon_capture its depth); the
// parameters of the unit not built are ignored.
module demon_top #(
    // Force unit: 0 linear, 1 score network (MLP), 2 polynomial (Ising).
    parameter integer FORCE_UNIT = 0,
    // Number of units (channels) n; 1..64.
    parameter integer N = 4,
    // Parallel multipliers P; linear: 1..N (rows computed at once); MLP: 1..the widest layer.
    parameter integer MULTIPLIERS = 4,
    // ADC code width (input x is Q(1, X_BITS-1)); 2..24.
    parameter integer X_BITS = 10,
    // DAC code width (output f is Q(1, F_BITS-1)); 2..24; linear: F_BITS - 1 <= COEF_FRAC + X_BITS - 1,
    // MLP: F_BITS - 1 <= SCALE_FRAC + ACT_FRAC.
    parameter integer F_BITS = 10,
    // Linear: integer bits of A, sign included; >= 1, COEF_INT + COEF_FRAC in 2..32.
    parameter integer COEF_INT = 3,
    // Linear: fractional bits of A; >= 0.
    parameter integer COEF_FRAC = 9,
    // Integer bits of the biases (b, or the MLP's), sign included; >= 1, BIAS_INT + BIAS_FRAC in 2..32.
    parameter integer BIAS_INT = 3,
    // Fractional bits of the biases; linear: 0..COEF_FRAC + X_BITS - 1; MLP: 0..WEIGHT_FRAC +
    // max(X_BITS-1, ACT_FRAC).
    parameter integer BIAS_FRAC = 9,
    // Rounding of every narrowing: 0 TRN, 1 RND, 2 RND_CONV.
    parameter integer ROUNDING = 0,
    // Overflow of every narrowing: 0 SAT, 1 WRAP.
    parameter integer OVERFLOW = 0,
    // Capture FIFO depth in samples (accepted ADC words); a power of two, 2..256.
    parameter integer CAP_DEPTH = 32,
    // MLP: time-embedding inputs E per schedule row; 0..16.
    parameter integer EMB = 2,
    // MLP: hidden layers; 1..3.
    parameter integer LAYERS = 1,
    // MLP: units of hidden layers 1, 2, 3 (2 and 3 used when LAYERS reaches them); 1..128.
    parameter integer HIDDEN1 = 8,
    parameter integer HIDDEN2 = 8,
    parameter integer HIDDEN3 = 8,
    // MLP: width of the drift and noise control codes (Q(1, CTRL_BITS-1)); 2..16.
    parameter integer CTRL_BITS = 8,
    // MLP: weights Q(WEIGHT_INT, WEIGHT_FRAC); WEIGHT_INT >= 1, WEIGHT_FRAC >= 0, width 2..32.
    parameter integer WEIGHT_INT = 3,
    parameter integer WEIGHT_FRAC = 8,
    // MLP: activations, embedding and score Q(ACT_INT, ACT_FRAC); ACT_INT >= 1 (>= 2 for
    // hard-tanh), ACT_FRAC >= 0, width 2..24.
    parameter integer ACT_INT = 4,
    parameter integer ACT_FRAC = 8,
    // MLP: force_scale Q(SCALE_INT, SCALE_FRAC); SCALE_INT >= 1, SCALE_FRAC >= 0, width 2..32.
    parameter integer SCALE_INT = 4,
    parameter integer SCALE_FRAC = 8,
    // MLP: hidden activation, 0 ReLU, 1 hard-tanh.
    parameter integer ACTIVATION = 0,
    // MLP with ACTIVATION = 2 (table): log2 of the activation table's segments, 1..min(8, ACT_W-1),
    // and the fractional bits of its entries, ACT_FRAC..24-ACT_INT (ignored otherwise).
    parameter integer TABLE_BITS = 6,
    parameter integer TABLE_FRAC = 12,
    // MLP: schedule table capacity in rows; 1..512, SCHED_LEN * EMB <= 1024.
    parameter integer SCHED_LEN = 16
) (
    input  wire                 clk,
    input  wire                 rst,              // synchronous, active high
    // AXI4-Lite slave (32-bit data, 16-bit byte address)
    input  wire [15:0]          s_axil_awaddr,
    input  wire [2:0]           s_axil_awprot,
    input  wire                 s_axil_awvalid,
    output wire                 s_axil_awready,
    input  wire [31:0]          s_axil_wdata,
    input  wire [3:0]           s_axil_wstrb,
    input  wire                 s_axil_wvalid,
    output wire                 s_axil_wready,
    output wire [1:0]           s_axil_bresp,
    output wire                 s_axil_bvalid,
    input  wire                 s_axil_bready,
    input  wire [15:0]          s_axil_araddr,
    input  wire [2:0]           s_axil_arprot,
    input  wire                 s_axil_arvalid,
    output wire                 s_axil_arready,
    output wire [31:0]          s_axil_rdata,
    output wire [1:0]           s_axil_rresp,
    output wire                 s_axil_rvalid,
    input  wire                 s_axil_rready,
    // input stream (ADC codes), channel j at in_data[j*X_BITS +: X_BITS]
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [N*X_BITS-1:0]  in_data,
    // output stream (DAC codes), channel r at out_data[r*F_BITS +: F_BITS]
    // MLP: the two control codes above them
    output wire                 out_valid,
    input  wire                 out_ready,
    output wire [N*F_BITS+((FORCE_UNIT == 1) ? 2*CTRL_BITS : 0)-1:0] out_data,
    // interrupt request, active high, level: an enabled IRQ_STATUS bit is set (rtl/regmap.yaml)
    output wire                 irq
);

    localparam integer OUT_W = N * F_BITS + ((FORCE_UNIT == 1) ? 2 * CTRL_BITS : 0);

    initial begin
        if (FORCE_UNIT < 0 || FORCE_UNIT > 2) begin
            $error("%m: FORCE_UNIT must be 0 (linear), 1 (MLP) or 2 (polynomial), got %0d", FORCE_UNIT);
            $finish;
        end
    end

    wire        enable;
    wire        unit_in_ready;
    wire        unit_busy;
    wire [9:0]  out_sat;
    wire [15:0] unit_latency;
    wire [13:0] unit_w_entries;
    wire [9:0]  unit_b_entries;
    wire        step_reset;
    wire [15:0] sched_k;
    wire [15:0] dwell;
    wire [15:0] step;
    wire [2:0]  cfg_tgt;
    wire [12:0] cfg_idx;
    wire        cfg_we;
    wire [3:0]  cfg_be;
    wire [31:0] cfg_wdata;
    wire [31:0] cfg_rdata;
    wire        cap_clear;
    wire        cap_pop;
    wire [5:0]  cap_chan;
    wire [31:0] cap_word;
    wire [31:0] cap_seq;
    wire [8:0]  cap_level;
    wire        cap_overflow;
    wire        cap_underflow;

    assign in_ready = enable && unit_in_ready;

    generate
        if (FORCE_UNIT == 1) begin : g_mlp
            demon_mlp #(
                .N(N),
                .EMB(EMB),
                .LAYERS(LAYERS),
                .HIDDEN1(HIDDEN1),
                .HIDDEN2(HIDDEN2),
                .HIDDEN3(HIDDEN3),
                .X_BITS(X_BITS),
                .F_BITS(F_BITS),
                .CTRL_BITS(CTRL_BITS),
                .WEIGHT_INT(WEIGHT_INT),
                .WEIGHT_FRAC(WEIGHT_FRAC),
                .BIAS_INT(BIAS_INT),
                .BIAS_FRAC(BIAS_FRAC),
                .ACT_INT(ACT_INT),
                .ACT_FRAC(ACT_FRAC),
                .SCALE_INT(SCALE_INT),
                .SCALE_FRAC(SCALE_FRAC),
                .ACTIVATION(ACTIVATION),
                .TABLE_BITS(TABLE_BITS),
                .TABLE_FRAC(TABLE_FRAC),
                .MULTIPLIERS(MULTIPLIERS),
                .SCHED_LEN(SCHED_LEN),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_mlp (
                .clk(clk),
                .rst(rst),
                .in_valid(in_valid && enable),
                .in_ready(unit_in_ready),
                .in_data(in_data),
                .out_valid(out_valid),
                .out_ready(out_ready),
                .out_data(out_data),
                .out_sat(out_sat),
                .busy(unit_busy),
                .latency(unit_latency),
                .w_entries(unit_w_entries),
                .b_entries(unit_b_entries),
                .step_reset(step_reset),
                .sched_k(sched_k),
                .step(step),
                .cfg_tgt(cfg_tgt - 3'd2),        // MLP_W .. SCHED_EMB (2..7) -> 0..5, ACT_TABLE (0) -> 6
                .cfg_idx(cfg_idx),
                .cfg_we(cfg_we && cfg_tgt != 3'd1),
                .cfg_be(cfg_be),
                .cfg_wdata(cfg_wdata),
                .cfg_rdata(cfg_rdata)
            );
            wire unused_dwell = ^dwell;
        end else if (FORCE_UNIT == 2) begin : g_poly
            demon_poly #(
                .N(N),
                .MULTIPLIERS(MULTIPLIERS),
                .X_BITS(X_BITS),
                .F_BITS(F_BITS),
                .COEF_INT(COEF_INT),
                .COEF_FRAC(COEF_FRAC),
                .BIAS_INT(BIAS_INT),
                .BIAS_FRAC(BIAS_FRAC),
                .SCALE_INT(SCALE_INT),
                .SCALE_FRAC(SCALE_FRAC),
                .SCHED_LEN(SCHED_LEN),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_poly (
                .clk(clk),
                .rst(rst),
                .in_valid(in_valid && enable),
                .in_ready(unit_in_ready),
                .in_data(in_data),
                .out_valid(out_valid),
                .out_ready(out_ready),
                .out_data(out_data[OUT_W-1:0]),
                .out_sat(out_sat),
                .busy(unit_busy),
                .latency(unit_latency),
                .step_reset(step_reset),
                .sched_k(sched_k),
                .dwell(dwell),
                .step(step),
                .cfg_tgt(cfg_tgt),
                .cfg_idx(cfg_idx),
                .cfg_we(cfg_we),
                .cfg_be(cfg_be),
                .cfg_wdata(cfg_wdata),
                .cfg_rdata(cfg_rdata)
            );
            assign unit_w_entries = 14'd0;
            assign unit_b_entries = 10'd0;
        end else begin : g_linear
            // demon_linear's latency and initiation interval, N*ceil(N/P) + 1 (TIMING).
            localparam integer LIN_LATENCY = N * ((N + MULTIPLIERS - 1) / MULTIPLIERS) + 1;
            wire [6:0] lin_sat;

            demon_linear #(
                .N(N),
                .MULTIPLIERS(MULTIPLIERS),
                .X_BITS(X_BITS),
                .F_BITS(F_BITS),
                .COEF_INT(COEF_INT),
                .COEF_FRAC(COEF_FRAC),
                .BIAS_INT(BIAS_INT),
                .BIAS_FRAC(BIAS_FRAC),
                .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)
            ) u_linear (
                .clk(clk),
                .rst(rst),
                .in_valid(in_valid && enable),
                .in_ready(unit_in_ready),
                .in_data(in_data),
                .out_valid(out_valid),
                .out_ready(out_ready),
                .out_data(out_data[OUT_W-1:0]),
                .out_sat(lin_sat),
                .busy(unit_busy),
                .cfg_sel(cfg_tgt == 3'd1),       // COEF_A 0, COEF_B 1 (the only arrays mapped)
                .cfg_idx(cfg_idx[11:0]),         // < N*N <= 4096
                .cfg_we(cfg_we),
                .cfg_be(cfg_be),
                .cfg_wdata(cfg_wdata),
                .cfg_rdata(cfg_rdata)
            );
            assign out_sat = {3'd0, lin_sat};
            assign unit_latency = LIN_LATENCY[15:0];
            assign unit_w_entries = 14'd0;
            assign unit_b_entries = 10'd0;
            assign step = 16'd0;
            wire unused_sched = ^{step_reset, sched_k, dwell, cfg_idx[12]};
        end
    endgenerate

    demon_axil #(
        .FORCE_UNIT(FORCE_UNIT),
        .EMB(EMB),
        .LAYERS(LAYERS),
        .HIDDEN1(HIDDEN1),
        .HIDDEN2(HIDDEN2),
        .HIDDEN3(HIDDEN3),
        .CTRL_BITS(CTRL_BITS),
        .WEIGHT_INT(WEIGHT_INT),
        .WEIGHT_FRAC(WEIGHT_FRAC),
        .ACT_INT(ACT_INT),
        .ACT_FRAC(ACT_FRAC),
        .SCALE_INT(SCALE_INT),
        .SCALE_FRAC(SCALE_FRAC),
        .ACTIVATION(ACTIVATION),
        .TABLE_BITS(TABLE_BITS),
        .TABLE_FRAC(TABLE_FRAC),
        .SCHED_LEN(SCHED_LEN),
        .N(N),
        .MULTIPLIERS(MULTIPLIERS),
        .X_BITS(X_BITS),
        .F_BITS(F_BITS),
        .COEF_INT(COEF_INT),
        .COEF_FRAC(COEF_FRAC),
        .BIAS_INT(BIAS_INT),
        .BIAS_FRAC(BIAS_FRAC),
        .ROUNDING(ROUNDING),
        .OVERFLOW(OVERFLOW),
        .CAP_DEPTH(CAP_DEPTH)
    ) u_axil (
        .clk(clk),
        .rst(rst),
        .s_axil_awaddr(s_axil_awaddr),
        .s_axil_awprot(s_axil_awprot),
        .s_axil_awvalid(s_axil_awvalid),
        .s_axil_awready(s_axil_awready),
        .s_axil_wdata(s_axil_wdata),
        .s_axil_wstrb(s_axil_wstrb),
        .s_axil_wvalid(s_axil_wvalid),
        .s_axil_wready(s_axil_wready),
        .s_axil_bresp(s_axil_bresp),
        .s_axil_bvalid(s_axil_bvalid),
        .s_axil_bready(s_axil_bready),
        .s_axil_araddr(s_axil_araddr),
        .s_axil_arprot(s_axil_arprot),
        .s_axil_arvalid(s_axil_arvalid),
        .s_axil_arready(s_axil_arready),
        .s_axil_rdata(s_axil_rdata),
        .s_axil_rresp(s_axil_rresp),
        .s_axil_rvalid(s_axil_rvalid),
        .s_axil_rready(s_axil_rready),
        .ctrl_enable(enable),
        .ctrl_step_reset(step_reset),
        .ctrl_sched_k(sched_k),
        .ctrl_dwell(dwell),
        .st_step(step),
        .unit_latency(unit_latency),
        .unit_w_entries(unit_w_entries),
        .unit_b_entries(unit_b_entries),
        .st_busy(unit_busy),
        .st_out_valid(out_valid),
        .st_in_ready(in_ready),
        .ev_in(in_valid && in_ready),
        .ev_out(out_valid && out_ready),
        .ev_drop(enable && in_valid && !in_ready),
        .ev_sat(out_sat),
        .cfg_tgt(cfg_tgt),
        .cfg_idx(cfg_idx),
        .cfg_we(cfg_we),
        .cfg_be(cfg_be),
        .cfg_wdata(cfg_wdata),
        .cfg_rdata(cfg_rdata),
        .cap_clear(cap_clear),
        .cap_pop(cap_pop),
        .cap_chan(cap_chan),
        .cap_word(cap_word),
        .cap_seq(cap_seq),
        .cap_level(cap_level),
        .cap_overflow(cap_overflow),
        .cap_underflow(cap_underflow),
        .irq(irq)
    );

    demon_capture #(
        .N(N),
        .X_BITS(X_BITS),
        .DEPTH(CAP_DEPTH)
    ) u_capture (
        .clk(clk),
        .rst(rst),
        .clear(cap_clear),
        .push(in_valid && in_ready),
        .push_data(in_data),
        .pop(cap_pop),
        .rd_chan(cap_chan),
        .rd_word(cap_word),
        .head_seq(cap_seq),
        .level(cap_level),
        .overflow(cap_overflow),
        .underflow(cap_underflow)
    );

endmodule

`resetall
