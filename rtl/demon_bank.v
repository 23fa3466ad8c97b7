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

    // Bytes per word; the stored word is padded to whole bytes (the pad bits are never read).
    localparam integer NB = (WIDTH + 7) / 8;
    // Banks of 2^BLOCK_MIN_AW words or more ask for block RAM (ram_style, honoured by Yosys and
    // Vivado); smaller ones are left to the tool (LUT RAM or flip-flops).
    localparam integer BLOCK_MIN_AW = 3;

    // the pad bits of the read words are dropped, hence the waiver
    /* verilator lint_off UNUSEDSIGNAL */
    reg [8*NB-1:0] a_q;
    reg [8*NB-1:0] b_q;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [8*NB-1:0] a_wpad = {{(8*NB-WIDTH){1'b0}}, a_wdata};

    // Port A: one write port with a write enable per byte (no read-modify-write, so no
    // asynchronous read: FPGA tools map this to block RAM with byte-write enables), and a
    // synchronous read-first read. Port B: synchronous read. The two branches differ only in
    // the memory's ram_style.
    integer k;
    generate
        if (ADDR_W >= BLOCK_MIN_AW) begin : g_block
            (* ram_style = "block" *) reg [8*NB-1:0] mem [0:DEPTH-1];
            always @(posedge clk) begin
                for (k = 0; k < NB; k = k + 1)
                    if (a_we && a_be[k]) mem[a_addr][8*k +: 8] <= a_wpad[8*k +: 8];
                a_q <= mem[a_addr];
            end
            always @(posedge clk) begin
                b_q <= mem[b_addr];
            end
        end else begin : g_small
            reg [8*NB-1:0] mem [0:DEPTH-1];
            always @(posedge clk) begin
                for (k = 0; k < NB; k = k + 1)
                    if (a_we && a_be[k]) mem[a_addr][8*k +: 8] <= a_wpad[8*k +: 8];
                a_q <= mem[a_addr];
            end
            always @(posedge clk) begin
                b_q <= mem[b_addr];
            end
        end
    endgenerate

    always @* begin
        a_rdata = a_q[WIDTH-1:0];
        b_rdata = b_q[WIDTH-1:0];
    end

endmodule

`resetall
