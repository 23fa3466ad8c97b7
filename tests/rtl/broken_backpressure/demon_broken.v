`default_nettype none
// The project's demon with its output backpressure broken: the unit is told the DAC always takes
// its word, so a word the DAC refuses is lost.
module demon_broken #(
    parameter integer N = 4, parameter integer MULTIPLIERS = 4, parameter integer X_BITS = 10,
    parameter integer F_BITS = 10, parameter integer COEF_INT = 3, parameter integer COEF_FRAC = 9,
    parameter integer BIAS_INT = 3, parameter integer BIAS_FRAC = 9, parameter integer ROUNDING = 0,
    parameter integer OVERFLOW = 0
) (
    input wire clk, input wire rst,
    input wire [15:0] s_axil_awaddr, input wire [2:0] s_axil_awprot, input wire s_axil_awvalid,
    output wire s_axil_awready, input wire [31:0] s_axil_wdata, input wire [3:0] s_axil_wstrb,
    input wire s_axil_wvalid, output wire s_axil_wready, output wire [1:0] s_axil_bresp,
    output wire s_axil_bvalid, input wire s_axil_bready, input wire [15:0] s_axil_araddr,
    input wire [2:0] s_axil_arprot, input wire s_axil_arvalid, output wire s_axil_arready,
    output wire [31:0] s_axil_rdata, output wire [1:0] s_axil_rresp, output wire s_axil_rvalid,
    input wire s_axil_rready,
    input wire in_valid, output wire in_ready, input wire [N*X_BITS-1:0] in_data,
    output wire out_valid, input wire out_ready, output wire [N*F_BITS-1:0] out_data
);
    /* verilator lint_off UNUSEDSIGNAL */
    wire ignored = out_ready;
    /* verilator lint_on UNUSEDSIGNAL */
    demon_top #(.N(N), .MULTIPLIERS(MULTIPLIERS), .X_BITS(X_BITS), .F_BITS(F_BITS), .COEF_INT(COEF_INT),
                .COEF_FRAC(COEF_FRAC), .BIAS_INT(BIAS_INT), .BIAS_FRAC(BIAS_FRAC), .ROUNDING(ROUNDING),
                .OVERFLOW(OVERFLOW)) inner (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
        .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
        .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
        .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
        .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
        .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
        .s_axil_rready(s_axil_rready),
        .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
        .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data));
endmodule
`resetall
