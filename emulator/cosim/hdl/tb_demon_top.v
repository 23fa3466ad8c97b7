`timescale 1ns / 1ps
`default_nettype none
// tb_demon_top: simulation top for cocotb (tests/ and the closed-loop co-simulation).
// Simulation only: it generates the clock and keeps bookkeeping registers for Python.
//
// Ports (driven / read by Python; names as demon_top's):
//   rst                   synchronous active-high reset, driven by Python (the clock runs from t=0)
//   s_axil_*              AXI4-Lite slave (cocotbext-axi AxiLiteBus.from_prefix(dut, "s_axil"))
//   in_valid, in_data     input stream, driven by Python; in_ready from the demon
//   out_ready             output stream ready, driven by Python; out_valid, out_data from the demon
//
// Internal signals (read-only for Python; look them up once):
//   clk                   the clock: clk = 0 at t = 0, toggles every CLK_PERIOD_NS/2 ns, so the
//                         rising edges are at t = (m + 1/2) * CLK_PERIOD_NS ns, m = 0, 1, 2, ...
//   cycle[63:0]           index of the latest rising edge counted from reset release: the first
//                         rising edge that samples rst = 0 is cycle 0 and sets cycle to 0, edge k
//                         after it sets cycle to k. It reads all ones (-1) while rst is sampled 1
//                         and before the first reset. Edge k happens at t_e0 + k * CLK_PERIOD_NS,
//                         so Python waits for cycle k with one Timer, not k clock edges.
//   in_fire_toggle        flips at every input handshake (in_valid && in_ready at a rising edge)
//   in_fire_cycle[63:0]   cycle of the latest input handshake
//   in_fire_data          in_data accepted at the latest input handshake
//   in_fire_count[63:0]   input handshakes since reset
//   out_fire_toggle       flips at every output handshake (out_valid && out_ready at a rising edge)
//   out_fire_cycle[63:0]  cycle of the latest output handshake
//   out_fire_data         out_data delivered at the latest output handshake (the full word: for the
//                         MLP, n force codes then drift and noise)
//   out_fire_count[63:0]  output handshakes since reset
//   irq                   the demon's interrupt request (demon_top's irq output)
//
// Input scheduler (for the closed-loop co-simulation; idle unless Python uses it):
//   sched_push[N*X_BITS+64:0]       written by Python in one VPI write per word:
//                                   {toggle, cycle[63:0], data[N*X_BITS-1:0]}. Flipping the top
//                                   bit pushes the word: it is presented on the input stream for
//                                   exactly the one edge `cycle` (valid high from the edge
//                                   before), as an ADC that cannot wait does; the demon takes it or
//                                   drops it by its own rule. A push written half a period before
//                                   edge E may target edge E itself. Up to 4 pushes may wait. The
//                                   stream seen by the demon is (in_valid | scheduled) with the
//                                   scheduled word first.
//   sched_late                      sticky: a pushed word's cycle had already passed (a bug)
//   out_fire_latency[63:0]          cycles from the input handshake of the word delivered at the
//                                   latest output handshake to that handshake (measured in HDL;
//                                   all ones if no input was waiting)
//   out_fire_status                 {out_fire_count, out_fire_latency, out_fire_cycle,
//                                   out_fire_data}: the latest output in one VPI read
//
// A handshake "at cycle k" happens at rising edge k; the *_fire_* registers change at that edge,
// together with the toggle. To read them, wake on Edge(toggle) and then await ReadOnly() (the
// other registers of that edge may not be updated yet when the toggle's callback fires). Values
// Python writes take effect before the next rising edge when written after an edge; to make a
// value be sampled at edge k, write it anywhere in (edge k-1, edge k), e.g. at the falling edge
// t_e0 + (k - 1/2) * CLK_PERIOD_NS. The *_count registers let a slow reader detect handshakes
// it has not seen yet.
module tb_demon_top #(
    // demon_top's parameters, with its comments and defaults (tests/rtl/test_lint.py keeps them
    // equal to rtl/demon_top.v's), then the testbench's own clock period.
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
    parameter integer SCHED_LEN = 16,
    // Clock period in ns; >= 1 (an odd period gives half periods of x.5 ns, exact at 1 ps).
    parameter integer CLK_PERIOD_NS = 10
) (
    input  wire                 rst,
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
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [N*X_BITS-1:0]  in_data,
    output wire                 out_valid,
    input  wire                 out_ready,
    output wire [N*F_BITS+((FORCE_UNIT == 1) ? 2*CTRL_BITS : 0)-1:0] out_data
);

    localparam real CLK_HALF = CLK_PERIOD_NS / 2.0;
    /* verilator lint_off UNUSEDSIGNAL */
    wire irq;     // read by Python (firmware in the loop delivers it to the C code)
    /* verilator lint_on UNUSEDSIGNAL */
    // Output word: N force codes (and, for the MLP, drift and noise codes above them).
    localparam integer OUT_W = N * F_BITS + ((FORCE_UNIT == 1) ? 2 * CTRL_BITS : 0);

    initial begin
        if (CLK_PERIOD_NS < 1) begin
            $error("%m: CLK_PERIOD_NS must be >= 1, got %0d", CLK_PERIOD_NS);
            $finish;
        end
    end

    // The bookkeeping registers are read by Python through VPI only, hence the waiver.
    /* verilator lint_off UNUSEDSIGNAL */
    reg                clk;
    reg [63:0]         cycle;
    reg                in_fire_toggle;
    reg [63:0]         in_fire_cycle;
    reg [N*X_BITS-1:0] in_fire_data;
    reg [63:0]         in_fire_count;
    reg                out_fire_toggle;
    reg [63:0]         out_fire_cycle;
    reg [OUT_W-1:0]    out_fire_data;
    reg [63:0]         out_fire_count;
    /* verilator lint_on UNUSEDSIGNAL */

    initial begin
        clk = 1'b0;
        cycle = {64{1'b1}};
        in_fire_toggle = 1'b0;
        in_fire_cycle = {64{1'b1}};
        in_fire_data = {N*X_BITS{1'b0}};
        in_fire_count = 64'd0;
        out_fire_toggle = 1'b0;
        out_fire_cycle = {64{1'b1}};
        out_fire_data = {OUT_W{1'b0}};
        out_fire_count = 64'd0;
    end

    always #(CLK_HALF) clk = ~clk;

    // ---- input scheduler -------------------------------------------------------------------
    // sched_* are written by Python through VPI; sched_late and out_fire_latency are read by it.
    reg  [N*X_BITS+64:0] sched_push;
    wire                sched_push_toggle = sched_push[N*X_BITS+64];
    wire [63:0]         sched_cycle = sched_push[N*X_BITS+63:N*X_BITS];
    wire [N*X_BITS-1:0] sched_data = sched_push[N*X_BITS-1:0];
    reg                 sched_seen;
    /* verilator lint_off UNUSEDSIGNAL */
    reg                 sched_late;
    reg  [63:0]         out_fire_latency;
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [63:0]         q_cycle [0:3];
    reg  [N*X_BITS-1:0] q_data [0:3];
    reg  [1:0]          q_rd;
    reg  [1:0]          q_wr;
    reg  [2:0]          q_count;
    reg  [63:0]         acc_cycle [0:3];
    reg  [1:0]          acc_rd;
    reg  [1:0]          acc_wr;
    reg  [2:0]          acc_count;

    initial begin
        sched_push = {(N*X_BITS+65){1'b0}};
        sched_seen = 1'b0;
        sched_late = 1'b0;
        out_fire_latency = {64{1'b1}};
        q_rd = 2'd0;
        q_wr = 2'd0;
        q_count = 3'd0;
        acc_rd = 2'd0;
        acc_wr = 2'd0;
        acc_count = 3'd0;
    end

    wire                push = (sched_push_toggle != sched_seen);
    wire                have_q = (q_count != 3'd0);
    wire [63:0]         next_cycle = cycle + 64'd1;
    wire [63:0]         head_cycle = have_q ? q_cycle[q_rd] : sched_cycle;
    wire [N*X_BITS-1:0] head_data = have_q ? q_data[q_rd] : sched_data;
    wire                sched_fire = !rst && (have_q || push) && (head_cycle == next_cycle);
    wire                head_stale = !rst && have_q && (q_cycle[q_rd] < next_cycle);
    wire                dut_in_valid = in_valid | sched_fire;
    wire [N*X_BITS-1:0] dut_in_data = sched_fire ? head_data : in_data;

    always @(posedge clk) begin
        if (push) sched_seen <= sched_push_toggle;
        if (rst) begin
            q_rd <= 2'd0;
            q_wr <= 2'd0;
            q_count <= 3'd0;
        end else begin
            // the pushed word joins the queue unless it bypassed it (fired from an empty queue)
            if (push && (have_q || !sched_fire)) begin
                q_cycle[q_wr] <= sched_cycle;
                q_data[q_wr] <= sched_data;
                q_wr <= q_wr + 2'd1;
            end
            if (have_q && (sched_fire || head_stale)) q_rd <= q_rd + 2'd1;
            if (head_stale || (push && !have_q && sched_cycle < next_cycle)) sched_late <= 1'b1;
            q_count <= q_count + {2'd0, push && (have_q || !sched_fire)}
                               - {2'd0, have_q && (sched_fire || head_stale)};
        end
    end

    /* verilator lint_off UNUSEDSIGNAL */
    wire [OUT_W+191:0]  out_fire_status = {out_fire_count, out_fire_latency, out_fire_cycle, out_fire_data};
    /* verilator lint_on UNUSEDSIGNAL */

    // ---- input-to-output latency, measured -----------------------------------------------
    wire        in_fire = dut_in_valid && in_ready;
    wire        out_fire = out_valid && out_ready;

    always @(posedge clk) begin
        if (rst) begin
            acc_rd <= 2'd0;
            acc_wr <= 2'd0;
            acc_count <= 3'd0;
        end else begin
            if (in_fire) begin
                acc_cycle[acc_wr] <= next_cycle;
                acc_wr <= acc_wr + 2'd1;
            end
            if (out_fire) begin
                out_fire_latency <= (acc_count != 3'd0) ? next_cycle - acc_cycle[acc_rd] : {64{1'b1}};
                if (acc_count != 3'd0) acc_rd <= acc_rd + 2'd1;
            end
            acc_count <= acc_count + {2'd0, in_fire} - {2'd0, out_fire && (acc_count != 3'd0)};
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            cycle <= {64{1'b1}};
            in_fire_count <= 64'd0;
            out_fire_count <= 64'd0;
        end else begin
            cycle <= cycle + 64'd1;
            if (dut_in_valid && in_ready) begin
                in_fire_toggle <= ~in_fire_toggle;
                in_fire_cycle <= cycle + 64'd1;
                in_fire_data <= dut_in_data;
                in_fire_count <= in_fire_count + 64'd1;
            end
            if (out_valid && out_ready) begin
                out_fire_toggle <= ~out_fire_toggle;
                out_fire_cycle <= cycle + 64'd1;
                out_fire_data <= out_data;
                out_fire_count <= out_fire_count + 64'd1;
            end
        end
    end

    // The demon: the project's demon_top, or a user's top behind the wrapper demonloop generates
    // (demonloop.cosim.rtl), selected by defining DEMONLOOP_DUT.
`ifndef DEMONLOOP_DUT
`define DEMONLOOP_DUT demon_top
`endif
    `DEMONLOOP_DUT #(
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
    ) dut (
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
        .in_valid(dut_in_valid),
        .in_ready(in_ready),
        .in_data(dut_in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .irq(irq)
    );

endmodule

`resetall
