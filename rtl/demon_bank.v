`default_nettype none
// demon_bank: one coefficient memory bank, a dual-port RAM with synchronous reads.
//
//   port A  configuration (the AXI4-Lite block): write with byte enables, synchronous read;
//           a_rdata is the word at the a_addr presented in the previous cycle (read-first: a write
//           and a read of the same word in one cycle return the old word).
//   port B  datapath: synchronous read only; b_rdata is the word at the previous cycle's b_addr.
//
// The array holds 2^ADDR_W words (the next power of two of what the instance needs); words
// never written hold whatever the RAM powers up with (no reset: this is a block RAM).
// Infers a true or simple dual-port block RAM with byte-write enables on FPGA tools.
module demon_bank #(
    // Word width in bits; 1..32.
    parameter integer WIDTH = 16,
    // Address width in bits (the bank holds 2^ADDR_W words); 1..13.
    parameter integer ADDR_W = 4
) (
    input  wire                    clk,
    // port A: configuration
    input  wire                    a_we,
    input  wire [(WIDTH+7)/8-1:0]  a_be,      // byte enables, byte k = bits [8k+7:8k]
    input  wire [ADDR_W-1:0]       a_addr,
    input  wire [WIDTH-1:0]        a_wdata,
    output reg  [WIDTH-1:0]        a_rdata,
    // port B: datapath read
    input  wire [ADDR_W-1:0]       b_addr,
    output reg  [WIDTH-1:0]        b_rdata
);

    localparam integer DEPTH = 1 << ADDR_W;

    initial begin
        if (WIDTH < 1 || WIDTH > 32) begin
            $error("%m: WIDTH must be 1..32, got %0d", WIDTH);
            $finish;
        end
        if (ADDR_W < 1 || ADDR_W > 13) begin
            $error("%m: ADDR_W must be 1..13, got %0d", ADDR_W);
            $finish;
        end
    end

    reg [WIDTH-1:0] mem [0:DEPTH-1];

    // One whole-word write, the byte enables merged in combinationally (bit-wise non-blocking
    // writes make Verilator's model several times slower per clock).
    reg [WIDTH-1:0] byte_mask;
    integer k;
    always @* begin
        for (k = 0; k < WIDTH; k = k + 1) byte_mask[k] = a_be[k / 8];
    end
    wire [WIDTH-1:0] merged = (mem[a_addr] & ~byte_mask) | (a_wdata & byte_mask);

    always @(posedge clk) begin
        if (a_we) mem[a_addr] <= merged;
        a_rdata <= mem[a_addr];
    end

    always @(posedge clk) begin
        b_rdata <= mem[b_addr];
    end

endmodule

`resetall
