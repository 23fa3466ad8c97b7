`timescale 1ns / 1ps
`default_nettype none
// tb_free: the demon RTL running free, no Python in the loop (benchmark only, simulation only).
// Loads the coefficients over AXI4-Lite from an HDL task, then presents one input word every
// PERIOD cycles for SAMPLES samples, read from MEMFILE ($readmemh, one packed word per line),
// and prints the cycles and output words at the end.
module tb_free #(
    parameter integer N = 8,
    parameter integer MULTIPLIERS = 8,
    parameter integer X_BITS = 12,
    parameter integer F_BITS = 12,
    parameter integer COEF_INT = 4,
    parameter integer COEF_FRAC = 12,
    parameter integer BIAS_INT = 2,
    parameter integer BIAS_FRAC = 14,
    parameter integer ROUNDING = 2,
    parameter integer OVERFLOW = 0,
    parameter integer SAMPLES = 1000,
    parameter integer PERIOD = 100,
    parameter MEMFILE = "inputs.hex"
);
    `include "demon_regs.vh"

    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;

    reg  [15:0] awaddr = 16'd0;
    reg         awvalid = 1'b0;
    wire        awready;
    reg  [31:0] wdata = 32'd0;
    reg         wvalid = 1'b0;
    wire        wready;
    wire [1:0]  bresp;
    wire        bvalid;
    reg         in_valid = 1'b0;
    wire        in_ready;
    reg  [N*X_BITS-1:0] in_data = {N*X_BITS{1'b0}};
    wire        out_valid;
    wire [N*F_BITS-1:0] out_data;
    wire [31:0] rdata;
    wire [1:0]  rresp;
    wire        arready, rvalid;

    demon_top #(
        .N(N), .MULTIPLIERS(MULTIPLIERS), .X_BITS(X_BITS), .F_BITS(F_BITS),
        .COEF_INT(COEF_INT), .COEF_FRAC(COEF_FRAC), .BIAS_INT(BIAS_INT), .BIAS_FRAC(BIAS_FRAC),
        .ROUNDING(ROUNDING), .OVERFLOW(OVERFLOW)
    ) dut (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(awaddr), .s_axil_awprot(3'd0), .s_axil_awvalid(awvalid), .s_axil_awready(awready),
        .s_axil_wdata(wdata), .s_axil_wstrb(4'hF), .s_axil_wvalid(wvalid), .s_axil_wready(wready),
        .s_axil_bresp(bresp), .s_axil_bvalid(bvalid), .s_axil_bready(1'b1),
        .s_axil_araddr(16'd0), .s_axil_arprot(3'd0), .s_axil_arvalid(1'b0), .s_axil_arready(arready),
        .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(1'b1),
        .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
        .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data)
    );

    task axil_write(input [15:0] addr, input [31:0] data);
        begin
            @(negedge clk);
            awaddr = addr; awvalid = 1'b1; wdata = data; wvalid = 1'b1;
            @(posedge clk);
            while (!(awready && wready)) @(posedge clk);
            @(negedge clk);
            awvalid = 1'b0; wvalid = 1'b0;
            while (!bvalid) @(posedge clk);
        end
    endtask

    reg [N*X_BITS-1:0] mem [0:SAMPLES-1];
    integer i, outputs = 0;
    reg [63:0] cycles = 64'd0;
    reg [31:0] checksum = 32'd0;
    always @(posedge clk) begin
        cycles <= cycles + 64'd1;
        if (out_valid) begin
            outputs = outputs + 1;
            checksum = checksum ^ out_data[31:0];
        end
    end

    initial begin
        $readmemh(MEMFILE, mem);
        repeat (4) @(posedge clk);
        @(negedge clk) rst = 1'b0;
        for (i = 0; i < N * N; i = i + 1) axil_write(DEMON_COEF_A_OFFSET + 4 * i, (i % 7 == 0) ? 32'd4096 : 32'hFFFFFF00);
        for (i = 0; i < N; i = i + 1) axil_write(DEMON_COEF_B_OFFSET + 4 * i, 32'd1000 * i);
        axil_write(DEMON_CTRL_OFFSET, 32'd1);
        for (i = 0; i < SAMPLES; i = i + 1) begin
            @(negedge clk);
            in_data = mem[i];
            in_valid = 1'b1;
            @(negedge clk);
            in_valid = 1'b0;
            repeat (PERIOD - 1) @(negedge clk);
        end
        repeat (4 * N * N) @(posedge clk);
        $display("FREE cycles=%0d outputs=%0d checksum=%08h", cycles, outputs, checksum);
        $finish;
    end
endmodule
`resetall
