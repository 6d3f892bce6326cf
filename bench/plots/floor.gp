# bench/plots/floor.gp: CDF of the disk floor's latency samples (bench/run draws it).
# Variables, given with gnuplot -e: samples (the directory of <name>.txt sample files, one
# value in microseconds a line) and out (the PNG to write).
set terminal pngcairo size 960,560 font "sans,10"
set output out
set title "Disk floor: latency CDF (same filesystem as the gateways)"
set xlabel "latency (µs, log scale)"
set ylabel "fraction of samples ≤ latency"
set logscale x
set yrange [0:1]
set grid xtics mxtics ytics
set key bottom right
plot samples."/fsync.txt" using 1:(1.0) smooth cnormal with lines lw 2 \
       title "512-byte append + fdatasync", \
     samples."/sqlite_commit.txt" using 1:(1.0) smooth cnormal with lines lw 2 \
       title "SQLite one-row commit (WAL, synchronous=FULL)"
