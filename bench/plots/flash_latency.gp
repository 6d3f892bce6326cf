# bench/plots/flash_latency.gp: CDF of FLASH latency, idle and under a ROUTINE flood
# (parley-bench-gateway's samples; bench/run draws it). Variables, given with gnuplot -e:
# samples (the directory of <name>.txt sample files, one value in microseconds a line) and
# out (the PNG to write).
set terminal pngcairo size 960,560 font "sans,10"
set output out
set title "FLASH message: API submission until the sender holds the verified receipt"
set xlabel "latency (ms, log scale)"
set ylabel "fraction of messages ≤ latency"
set logscale x
set yrange [0:1]
set grid xtics mxtics ytics
set key bottom right
plot samples."/flash_idle.txt" using ($1/1000):(1.0) smooth cnormal with lines lw 2 \
       title "idle line", \
     samples."/flash_flood.txt" using ($1/1000):(1.0) smooth cnormal with lines lw 2 \
       title "under a flood (4 threads submitting ROUTINE)"
