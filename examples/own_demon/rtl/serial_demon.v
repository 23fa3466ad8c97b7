`default_nettype none
// serial_demon: a linear force unit f = b - A x written apart from demonloop's rtl/, for the
// own-demon example. One multiplier, one multiply-accumulate per clock, rows one after another:
// a word takes N*N cycles (its answer leaves one cycle after the last MAC), and the unit takes
// no new word until its answer has been taken. The narrowing to the DAC code is a plain
// arithmetic shift (floor, "TRN") with saturation: the golden model of the example's config
// rounds half to even, so the two differ by up to one LSB, on average by half of one.
//
// Interface (demonloop's rtl/INTERFACE.md, under other port names, see rtl.yaml):
//   adc_valid/adc_ready/adc_data   the ADC stream, channel j at adc_data[j*X_BITS +: X_BITS]
//   dac_valid/dac_ready/dac_data   the DAC stream, channel r at dac_data[r*F_BITS +: F_BITS]
//   s_axil_*                       AXI4-Lite (no *prot): CTRL at 0x20 (bit 0 ENABLE, read/write),
//                                  A at 0x1000 + 4*(r*N + c), b at 0x6000 + 4*r (write and read);
//                                  any other address answers SLVERR (no TIMING, no counters)
module serial_demon #(
    // units n; 1..16
    parameter integer N = 8,
    // ADC code width; 2..24
    parameter integer X_BITS = 12,
    // DAC code width; 2..24
    parameter integer F_BITS = 12,
    // A in Q(COEF_INT, COEF_FRAC); width 2..32
    parameter integer COEF_INT = 4,
    parameter integer COEF_FRAC = 12,
    // b in Q(BIAS_INT, BIAS_FRAC); width 2..32, BIAS_FRAC <= COEF_FRAC + X_BITS - 1
    parameter integer BIAS_INT = 2,
    parameter integer BIAS_FRAC = 14
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  adc_valid,
    output wire                  adc_ready,
    input  wire [N*X_BITS-1:0]   adc_data,
    output reg                   dac_valid,
    input  wire                  dac_ready,
    output reg  [N*F_BITS-1:0]   dac_data,
    input  wire [15:0]           s_axil_awaddr,
    input  wire                  s_axil_awvalid,
    output wire                  s_axil_awready,
    input  wire [31:0]           s_axil_wdata,
    input  wire [3:0]            s_axil_wstrb,
    input  wire                  s_axil_wvalid,
    output wire                  s_axil_wready,
    output reg  [1:0]            s_axil_bresp,
    output reg                   s_axil_bvalid,
    input  wire                  s_axil_bready,
    input  wire [15:0]           s_axil_araddr,
    input  wire                  s_axil_arvalid,
    output wire                  s_axil_arready,
    output reg  [31:0]           s_axil_rdata,
    output reg  [1:0]            s_axil_rresp,
    output reg                   s_axil_rvalid,
    input  wire                  s_axil_rready
);
    localparam integer CW = COEF_INT + COEF_FRAC;
    localparam integer BW = BIAS_INT + BIAS_FRAC;
    localparam integer ACC_FRAC = COEF_FRAC + X_BITS - 1;
    localparam integer B_SHIFT = ACC_FRAC - BIAS_FRAC;
    localparam integer OUT_SHIFT = ACC_FRAC - (F_BITS - 1);
    // address widths of the coefficient memories (at least one bit)
    localparam integer AW = (N * N <= 2) ? 1 : $clog2(N * N);
    localparam integer BAW = (N <= 2) ? 1 : $clog2(N);
    localparam integer A_BASE = 32'h1000;
    localparam integer B_BASE = 32'h6000;

    initial begin
        if (N < 1 || N > 16 || X_BITS < 2 || X_BITS > 24 || F_BITS < 2 || F_BITS > 24 || CW < 2 || CW > 32
                || BW < 2 || BW > 32 || B_SHIFT < 0 || OUT_SHIFT < 0) begin
            $error("%m: parameters out of range");
            $finish;
        end
    end

    // ---- coefficients and control -----------------------------------------------------------
    reg signed [CW-1:0] a_mem [0:N*N-1];
    reg signed [BW-1:0] b_mem [0:N-1];
    reg                 enable;

    // ---- AXI4-Lite: one write and one read at a time ----------------------------------------
    reg  [15:0] waddr;
    reg         have_aw, have_w;
    reg  [31:0] wdata;
    wire [31:0] wa = {16'd0, waddr};
    wire        w_is_ctrl = wa == 32'h20;
    wire        w_is_a = wa >= A_BASE && wa < A_BASE + 4 * N * N && wa[1:0] == 2'b00;
    wire        w_is_b = wa >= B_BASE && wa < B_BASE + 4 * N && wa[1:0] == 2'b00;
    wire [31:0] w_a_index = (wa - A_BASE) >> 2;
    wire [31:0] w_b_index = (wa - B_BASE) >> 2;

    // ready while the address (data) register is free and no response waits
    assign s_axil_awready = !have_aw && !s_axil_bvalid;
    assign s_axil_wready = !have_w && !s_axil_bvalid;

    always @(posedge clk) begin
        if (rst) begin
            have_aw <= 1'b0;
            have_w <= 1'b0;
            s_axil_bvalid <= 1'b0;
            s_axil_bresp <= 2'b00;
            enable <= 1'b0;
        end else begin
            if (s_axil_awvalid && s_axil_awready) begin
                waddr <= s_axil_awaddr;
                have_aw <= 1'b1;
            end
            if (s_axil_wvalid && s_axil_wready) begin
                wdata <= s_axil_wdata;
                have_w <= 1'b1;
            end
            if (have_aw && have_w && !s_axil_bvalid) begin
                s_axil_bvalid <= 1'b1;
                s_axil_bresp <= (w_is_ctrl || w_is_a || w_is_b) ? 2'b00 : 2'b10;
                if (w_is_ctrl) enable <= wdata[0];
                if (w_is_a) a_mem[w_a_index[AW-1:0]] <= wdata[CW-1:0];
                if (w_is_b) b_mem[w_b_index[BAW-1:0]] <= wdata[BW-1:0];
                have_aw <= 1'b0;
                have_w <= 1'b0;
            end
            if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;
        end
    end

    wire [31:0] ra = {16'd0, s_axil_araddr};
    wire        r_is_ctrl = ra == 32'h20;
    wire        r_is_a = ra >= A_BASE && ra < A_BASE + 4 * N * N && ra[1:0] == 2'b00;
    wire        r_is_b = ra >= B_BASE && ra < B_BASE + 4 * N && ra[1:0] == 2'b00;
    wire [31:0] r_a_index = (ra - A_BASE) >> 2;
    wire [31:0] r_b_index = (ra - B_BASE) >> 2;
    wire signed [CW-1:0] r_a = a_mem[r_a_index[AW-1:0]];
    wire signed [BW-1:0] r_b = b_mem[r_b_index[BAW-1:0]];

    assign s_axil_arready = !s_axil_rvalid;

    always @(posedge clk) begin
        if (rst) begin
            s_axil_rvalid <= 1'b0;
            s_axil_rresp <= 2'b00;
            s_axil_rdata <= 32'd0;
        end else begin
            if (s_axil_arvalid && s_axil_arready) begin
                s_axil_rvalid <= 1'b1;
                s_axil_rresp <= (r_is_ctrl || r_is_a || r_is_b) ? 2'b00 : 2'b10;
                s_axil_rdata <= r_is_ctrl ? {31'd0, enable}
                              : r_is_a ? {{(32-CW){r_a[CW-1]}}, r_a}
                              : r_is_b ? {{(32-BW){r_b[BW-1]}}, r_b} : 32'd0;
            end
            if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;
        end
    end

    // ---- the datapath: one multiply-accumulate per cycle ------------------------------------
    reg                 busy;
    reg  [N*X_BITS-1:0] x;
    reg  [31:0]         row, col;
    reg  signed [63:0]  acc;

    assign adc_ready = enable && !busy && !dac_valid;

    wire [31:0]              a_index = row * N + col;
    wire signed [X_BITS-1:0] x_col = x[col*X_BITS +: X_BITS];
    wire signed [CW-1:0]     a_rc = a_mem[a_index[AW-1:0]];
    wire signed [63:0]       product = {{(64-CW){a_rc[CW-1]}}, a_rc} * {{(64-X_BITS){x_col[X_BITS-1]}}, x_col};
    wire signed [63:0]       acc_next = acc - product;
    wire signed [63:0]       shifted = acc_next >>> OUT_SHIFT;                   // TRN (floor)
    localparam signed [63:0] F_MAX = (64'sd1 <<< (F_BITS - 1)) - 1;
    localparam signed [63:0] F_MIN = -(64'sd1 <<< (F_BITS - 1));
    wire signed [63:0]       clamped = shifted > F_MAX ? F_MAX : shifted < F_MIN ? F_MIN : shifted;  // SAT

    function signed [63:0] bias_acc;
        input [31:0] r;
        reg signed [BW-1:0] b;
        begin
            b = b_mem[r[BAW-1:0]];
            bias_acc = {{(64-BW){b[BW-1]}}, b} <<< B_SHIFT;
        end
    endfunction

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            dac_valid <= 1'b0;
            row <= 32'd0;
            col <= 32'd0;
        end else begin
            if (dac_valid && dac_ready) dac_valid <= 1'b0;
            if (adc_valid && adc_ready) begin
                x <= adc_data;
                busy <= 1'b1;
                row <= 32'd0;
                col <= 32'd0;
                acc <= bias_acc(32'd0);
            end else if (busy) begin
                if (col == N - 1) begin
                    dac_data[row*F_BITS +: F_BITS] <= clamped[F_BITS-1:0];
                    col <= 32'd0;
                    if (row == N - 1) begin
                        busy <= 1'b0;
                        dac_valid <= 1'b1;
                    end else begin
                        row <= row + 32'd1;
                        acc <= bias_acc(row + 32'd1);
                    end
                end else begin
                    col <= col + 32'd1;
                    acc <= acc_next;
                end
            end
        end
    end
endmodule
`resetall
