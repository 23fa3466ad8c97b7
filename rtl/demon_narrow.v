`default_nettype none
// demon_narrow: the one narrowing operation of the demon datapath, the twin of
// emulator.fixedpoint.narrow(a, shift, width, rounding, overflow):
//
//   shift_round  drop SHIFT fractional bits with ROUNDING, one headroom bit for the addend:
//                  TRN       q = a >>> s
//                  RND       q = (a + 2^(s-1)) >>> s
//                  RND_CONV  q = (a + 2^(s-1) - 1 + a[s]) >>> s      (ties to even)
//                (SHIFT = 0 passes a through unchanged, whatever ROUNDING says);
//   overflow     fit OUT_W signed bits: SAT clips to [-2^(OUT_W-1), 2^(OUT_W-1)-1], WRAP keeps
//                the low OUT_W bits; ovf is 1 when q did not fit, in both modes (counted, never
//                silent).
//
// Purely combinational; the caller registers y and ovf.
module demon_narrow #(
    // Width of the signed input a (the accumulator); 2..63.
    parameter integer IN_W = 24,
    // Fractional bits dropped; 0..IN_W-2, and SHIFT + OUT_W <= IN_W so that q is wider than y.
    parameter integer SHIFT = 8,
    // Width of the signed output y; 2..IN_W-SHIFT.
    parameter integer OUT_W = 10,
    // Rounding of the dropped bits: 0 TRN (floor), 1 RND (half up), 2 RND_CONV (half to even).
    parameter integer ROUNDING = 0,
    // Overflow handling: 0 SAT (clip), 1 WRAP (two's-complement wrap).
    parameter integer OVERFLOW = 0
) (
    input  wire [IN_W-1:0]  a,    // signed two's complement
    output wire [OUT_W-1:0] y,    // signed two's complement
    output wire             ovf   // q did not fit OUT_W bits (saturated or wrapped)
);

    // Input plus one headroom bit: the rounding addend cannot overflow it.
    localparam integer EW = IN_W + 1;
    // Shift amount of the half-LSB constant (clamped so SHIFT = 0 stays a legal expression).
    localparam integer HALF_POS = (SHIFT > 0) ? SHIFT - 1 : 0;
    localparam [EW-1:0] ONE = {{(EW - 1){1'b0}}, 1'b1};
    localparam [EW-1:0] HALF = ONE << HALF_POS;
    localparam [OUT_W-1:0] Y_MAX = {1'b0, {(OUT_W - 1){1'b1}}};
    localparam [OUT_W-1:0] Y_MIN = {1'b1, {(OUT_W - 1){1'b0}}};

    initial begin
        if (IN_W < 2 || IN_W > 63) begin
            $error("%m: IN_W must be 2..63, got %0d", IN_W);
            $finish;
        end
        if (SHIFT < 0 || SHIFT + OUT_W > IN_W) begin
            $error("%m: SHIFT must be >= 0 with SHIFT + OUT_W <= IN_W, got SHIFT=%0d OUT_W=%0d IN_W=%0d",
                   SHIFT, OUT_W, IN_W);
            $finish;
        end
        if (OUT_W < 2) begin
            $error("%m: OUT_W must be >= 2, got %0d", OUT_W);
            $finish;
        end
        if (ROUNDING < 0 || ROUNDING > 2) begin
            $error("%m: ROUNDING must be 0 (TRN), 1 (RND) or 2 (RND_CONV), got %0d", ROUNDING);
            $finish;
        end
        if (OVERFLOW < 0 || OVERFLOW > 1) begin
            $error("%m: OVERFLOW must be 0 (SAT) or 1 (WRAP), got %0d", OVERFLOW);
            $finish;
        end
    end

    wire [EW-1:0] ext = {a[IN_W-1], a};

    // shift_round: rounding addend, then an arithmetic shift (floor).
    wire [EW-1:0] addend;
    generate
        if (SHIFT == 0 || ROUNDING == 0) begin : g_trn
            assign addend = {EW{1'b0}};
        end else if (ROUNDING == 1) begin : g_rnd
            assign addend = HALF;
        end else begin : g_rnd_conv
            assign addend = HALF - ONE + {{(EW - 1){1'b0}}, ext[SHIFT]};
        end
    endgenerate

    wire signed [EW-1:0] sum = ext + addend;     // exact: |a| + addend < 2^IN_W
    wire signed [EW-1:0] q = sum >>> SHIFT;      // ROUNDING (TRN/RND/RND_CONV), exact: no overflow

    // overflow: q fits OUT_W bits iff its bits [EW-1 : OUT_W-1] are all equal.
    wire [EW-OUT_W:0] q_top = q[EW-1:OUT_W-1];
    assign ovf = ~(&q_top | ~(|q_top));

    generate
        if (OVERFLOW == 0) begin : g_sat
            assign y = ovf ? (q[EW-1] ? Y_MIN : Y_MAX) : q[OUT_W-1:0];   // ROUNDING, SAT
        end else begin : g_wrap
            assign y = q[OUT_W-1:0];                                      // ROUNDING, WRAP
        end
    endgenerate

endmodule

`resetall
