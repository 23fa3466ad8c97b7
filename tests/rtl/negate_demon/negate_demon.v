`default_nettype none
// A demon without the bus, for the tests: f = -x (saturated), answered one cycle after the word
// is taken, always enabled out of reset. Ports under the contract's names.
module negate_demon #(
    parameter integer N = 4,
    parameter integer X_BITS = 10,
    parameter integer F_BITS = 10
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [N*X_BITS-1:0] in_data,
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [N*F_BITS-1:0] out_data
);
    assign in_ready = !out_valid || out_ready;
    integer j;
    reg signed [X_BITS:0] neg;
    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (in_valid && in_ready) begin
                out_valid <= 1'b1;
                for (j = 0; j < N; j = j + 1) begin
                    neg = -$signed({in_data[j*X_BITS + X_BITS - 1], in_data[j*X_BITS +: X_BITS]});
                    out_data[j*F_BITS +: F_BITS] <= (neg > $signed({1'b0, {(X_BITS-1){1'b1}}})) ? {1'b0, {(F_BITS-1){1'b1}}}
                                                   : neg[F_BITS-1:0];
                end
            end
        end
    end
endmodule
`resetall
