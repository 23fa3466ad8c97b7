`default_nettype none
// demon_top: the demon as the FPGA sees it: the linear force unit (demon_linear) behind an
// AXI4-Lite slave (demon_axil) for configuration, coefficients and status counters.
//
//   ADC --in_valid/in_ready/in_data--> [ENABLE gate] --> demon_linear --out_*--> DAC
//                                                         ^ cfg port (coefficient memories)
//   CPU --s_axil_*--> demon_axil (CTRL, STATUS, counters, ID/SHAPE/WIDTHS/FORMAT/TIMING)
//                        ^ CAP_STATUS / CAP_SEQ / CAP_DATA
//   every accepted input word ──> demon_capture (FIFO of CAP_DEPTH samples, with sequence numbers)
//
// in_ready = CTRL.ENABLE && demon_linear's ready (idle && (!out_valid || out_ready)).
// While ENABLE is 0 the input is not ready and neither CNT_IN nor CNT_DROP moves; a word already
// accepted still completes and is delivered (and counted in CNT_OUT and CNT_SAT), so that
// CNT_IN == CNT_OUT once the unit is idle. CNT_DROP counts the cycles with in_valid && !in_ready
// while ENABLE is 1 (an ADC sample offered for one cycle and refused is one drop).
//
// Every parameter is passed to both children and range-checked there at elaboration
// (demon_linear checks the datapath constraints, demon_axil the register fields).
module demon_top #(
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
    parameter integer OVERFLOW = 0,
    // Capture FIFO depth in samples (accepted ADC words); a power of two, 2..256.
    parameter integer CAP_DEPTH = 32
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
    output wire                 out_valid,
    input  wire                 out_ready,
    output wire [N*F_BITS-1:0]  out_data
);

    wire        enable;
    wire        lin_in_ready;
    wire        lin_busy;
    wire [6:0]  out_sat;
    wire        cfg_sel;
    wire [11:0] cfg_idx;
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

    assign in_ready = enable && lin_in_ready;

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
        .in_ready(lin_in_ready),
        .in_data(in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_sat(out_sat),
        .busy(lin_busy),
        .cfg_sel(cfg_sel),
        .cfg_idx(cfg_idx),
        .cfg_we(cfg_we),
        .cfg_be(cfg_be),
        .cfg_wdata(cfg_wdata),
        .cfg_rdata(cfg_rdata)
    );

    demon_axil #(
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
        .st_busy(lin_busy),
        .st_out_valid(out_valid),
        .st_in_ready(in_ready),
        .ev_in(in_valid && in_ready),
        .ev_out(out_valid && out_ready),
        .ev_drop(enable && in_valid && !in_ready),
        .ev_sat(out_sat),
        .cfg_sel(cfg_sel),
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
        .cap_underflow(cap_underflow)
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
