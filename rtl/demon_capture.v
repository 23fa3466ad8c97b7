`default_nettype none
// demon_capture: the capture FIFO of ADC samples, so that firmware can see the analog state.
//
// Every input word the demon accepts (push: the input handshake, all N channels as one word) is
// stored with its sequence number: the index of the sample among those accepted since the last
// clear (rst or CTRL.CAP_CLEAR), counted modulo 2^32. Firmware reads the oldest entry (the head)
// one channel at a time through the AXI4-Lite block (registers CAP_STATUS, CAP_SEQ, CAP_DATA):
//
//   rd_word   channel rd_chan of the head, sign-extended to 32 bits; 0 while the FIFO is empty
//   head_seq  sequence number of the head; while empty, the number the next sample will carry
//             (either way: the oldest sample neither read nor lost)
//   pop       (one clock) remove the head: the read of the head's last channel; ignored while
//             empty, where it sets the sticky UNDERFLOW flag instead
//   level     entries waiting, 0..DEPTH
//   overflow  sticky: a sample arrived while the FIFO was full (and no pop freed a place at that
//             edge); the sample is lost, its sequence number is skipped, so the entries after
//             it show the gap
//   clear     (one clock) empty the FIFO, zero the sequence number and both flags; a sample
//             pushed at the same edge is discarded
//
// The memory is read asynchronously at the read pointer (distributed RAM on FPGA tools), so an
// entry is readable in the cycle after the edge that pushed it, and a pop is seen by the very
// next read: the AXI block's read timing needs no hazard rule.
module demon_capture #(
    // Number of channels n; 1..64.
    parameter integer N = 4,
    // ADC code width; 2..24.
    parameter integer X_BITS = 10,
    // FIFO depth in entries (samples); a power of two, 2..256.
    parameter integer DEPTH = 32
) (
    input  wire                 clk,
    input  wire                 rst,          // synchronous, active high
    input  wire                 clear,        // CTRL.CAP_CLEAR
    input  wire                 push,         // an input word is accepted at this edge
    input  wire [N*X_BITS-1:0]  push_data,    // channel j at [j*X_BITS +: X_BITS], signed
    input  wire                 pop,          // remove the head at this edge
    input  wire [5:0]           rd_chan,      // channel of rd_word, < N
    output wire [31:0]          rd_word,      // channel rd_chan of the head, sign-extended
    output wire [31:0]          head_seq,
    output wire [8:0]           level,
    output wire                 overflow,
    output wire                 underflow
);

    // Pointer width: log2(DEPTH) (1..8; DEPTH is checked to be a power of two below).
    localparam integer AW = (DEPTH <= 2) ? 1 : (DEPTH <= 4) ? 2 : (DEPTH <= 8) ? 3 : (DEPTH <= 16) ? 4
                          : (DEPTH <= 32) ? 5 : (DEPTH <= 64) ? 6 : (DEPTH <= 128) ? 7 : 8;
    localparam integer W = N * X_BITS;

    initial begin
        if (N < 1 || N > 64) begin
            $error("%m: N must be 1..64, got %0d", N);
            $finish;
        end
        if (X_BITS < 2 || X_BITS > 24) begin
            $error("%m: X_BITS must be 2..24, got %0d", X_BITS);
            $finish;
        end
        if (DEPTH < 2 || DEPTH > 256 || (DEPTH & (DEPTH - 1)) != 0) begin
            $error("%m: CAP_DEPTH must be a power of two in 2..256, got %0d", DEPTH);
            $finish;
        end
    end

    reg [W-1:0]    mem_data [0:DEPTH-1];
    reg [31:0]     mem_seq [0:DEPTH-1];
    reg [AW-1:0]   rd_ptr;
    reg [AW-1:0]   wr_ptr;
    reg [8:0]      count;
    reg [31:0]     seq;            // sequence number of the next accepted sample
    reg            ovf_q;
    reg            udf_q;

    wire empty = (count == 9'd0);
    wire full = (count == DEPTH[8:0]);
    wire do_pop = pop && !empty;
    wire do_push = push && (!full || do_pop);

    always @(posedge clk) begin
        if (do_push && !(rst || clear)) begin
            mem_data[wr_ptr] <= push_data;
            mem_seq[wr_ptr] <= seq;
        end
    end

    always @(posedge clk) begin
        if (rst || clear) begin
            rd_ptr <= {AW{1'b0}};
            wr_ptr <= {AW{1'b0}};
            count <= 9'd0;
            seq <= 32'd0;
            ovf_q <= 1'b0;
            udf_q <= 1'b0;
        end else begin
            if (do_push) wr_ptr <= wr_ptr + 1'b1;              // modulo DEPTH (a power of two)
            if (do_pop) rd_ptr <= rd_ptr + 1'b1;
            count <= count + {8'd0, do_push} - {8'd0, do_pop};
            if (push) seq <= seq + 32'd1;                      // sequence numbers are modulo 2^32
            if (push && !do_push) ovf_q <= 1'b1;
            if (pop && empty) udf_q <= 1'b1;
        end
    end

    // Head entry, channel rd_chan, sign-extended.
    wire [W-1:0]       head = mem_data[rd_ptr];
    reg  [X_BITS-1:0]  chan_code;
    integer j;
    always @* begin
        chan_code = {X_BITS{1'b0}};
        for (j = 0; j < N; j = j + 1) begin
            if (rd_chan == j[5:0]) chan_code = head[j*X_BITS +: X_BITS];
        end
    end

    assign rd_word = empty ? 32'd0 : {{(32 - X_BITS){chan_code[X_BITS-1]}}, chan_code};
    assign head_seq = empty ? seq : mem_seq[rd_ptr];
    assign level = count;
    assign overflow = ovf_q;
    assign underflow = udf_q;

endmodule

`resetall
