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
//   out_fire_data         out_data delivered at the latest output handshake
//   out_fire_count[63:0]  output handshakes since reset
//
// A handshake "at cycle k" happens at rising edge k; the *_fire_* registers change at that edge,
// together with the toggle. To read them, wake on Edge(toggle) and then await ReadOnly() (the
// other registers of that edge may not be updated yet when the toggle's callback fires). Values
// Python writes take effect before the next rising edge when written after an edge; to make a
// value be sampled at edge k, write it anywhere in (edge k-1, edge k), e.g. at the falling edge
// t_e0 + (k - 1/2) * CLK_PERIOD_NS. The *_count registers let a slow reader detect handshakes
// it has not seen yet.
module tb_demon_top #(
    // Number of units (channels) n; 1..64.
    parameter integer N = 4,
    // Parallel multipliers P (rows computed at once); 1..N.
    parameter integer MULTIPLIERS = 4,
    // ADC code width (input x is Q(1, X_BITS-1)); 2..24.
    parameter integer X_BITS = 10,
    // DAC code width (output f is Q(1, F_BITS-1)); 2..24.
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
    parameter integer OVERFLOW = 0,
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
    output wire [N*F_BITS-1:0]  out_data
);

    localparam real CLK_HALF = CLK_PERIOD_NS / 2.0;

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
    reg [N*F_BITS-1:0] out_fire_data;
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
        out_fire_data = {N*F_BITS{1'b0}};
        out_fire_count = 64'd0;
    end

    always #(CLK_HALF) clk = ~clk;

    always @(posedge clk) begin
        if (rst) begin
            cycle <= {64{1'b1}};
            in_fire_count <= 64'd0;
            out_fire_count <= 64'd0;
        end else begin
            cycle <= cycle + 64'd1;
            if (in_valid && in_ready) begin
                in_fire_toggle <= ~in_fire_toggle;
                in_fire_cycle <= cycle + 64'd1;
                in_fire_data <= in_data;
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

    demon_top #(
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
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data)
    );

endmodule

`resetall
