// demon_util.vh: constant functions shared by the demon's modules. `include it inside a module
// body (Verilog-2005 functions belong to a module); each module then has its own copy.

    // max(1, ceil(log2(x))): width of a counter over 0..x-1.
    function integer clog2_1;
        input integer x;
        begin
            clog2_1 = (x <= 2) ? 1 : $clog2(x);
        end
    endfunction
