# bench/plots/receipted_throughput.gp: receipted throughput against the number of concurrent
# senders (parley-bench-gateway's receipted_throughput.txt: "senders msgs/s" lines; bench/run
# draws it). Variables, given with gnuplot -e: samples (the samples directory) and out (the
# PNG to write).
set terminal pngcairo size 960,560 font "sans,10"
set output out
set title "Receipted throughput (1 KiB messages, durable on both sides)"
set xlabel "concurrent senders (log scale)"
set ylabel "receipted messages per second"
set logscale x 2
set xtics (1, 4, 16)
set xrange [0.8:20]
set yrange [0:*]
set grid ytics
set key off
plot samples."/receipted_throughput.txt" using 1:2 with linespoints lw 2 pt 7 ps 1.5, \
     "" using 1:2:(sprintf("%.0f", $2)) with labels offset 0,1
