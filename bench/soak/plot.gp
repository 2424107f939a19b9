# bench/soak/plot.gp - the soak run's figures over time, from soak.csv:
#   gnuplot -e "csv='soak.csv'; png='soak.png'; iv=60" bench/soak/plot.gp
# (iv: the sampling interval in seconds, for the rates).
# Top: server RSS (MB) and open fds; middle: p99 per class (ms, log);
# bottom: requests per second per class and errors per minute.
if (!exists("iv")) iv = 60
if (!exists("title")) title = csv
set datafile separator ","
set datafile columnheaders
set terminal pngcairo size 1100,1050 font "DejaVu Sans,10"
set output png
set multiplot layout 3,1 title "yunling soak: ".title noenhanced
set grid
set key below horizontal
set xlabel "minutes"
set xrange [0:*]

set ylabel "RSS MB"
set y2label "open fds / HTTP connections"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot csv using (column("t_s")/60.0):(column("rss_kb")/1024.0) with linespoints lw 2 title "RSS MB", \
     ''  using (column("t_s")/60.0):"fds" axes x1y2 with lines lw 2 title "fds", \
     ''  using (column("t_s")/60.0):"http_connections" axes x1y2 with lines title "HTTP connections"

unset y2label
unset y2tics
set ytics mirror
set logscale y
set yrange [*:*]
set ylabel "p99 ms (log)"
plot csv using (column("t_s")/60.0):"view_p99_ms" with linespoints lw 2 title "views p99", \
     ''  using (column("t_s")/60.0):"hls_p99_ms" with linespoints lw 2 title "HLS p99", \
     ''  using (column("t_s")/60.0):"stats_p99_ms" with linespoints title "stats p99", \
     ''  using (column("t_s")/60.0):"view_p50_ms" with lines dt 2 title "views p50", \
     ''  using (column("t_s")/60.0):"hls_p50_ms" with lines dt 2 title "HLS p50"

unset logscale y
set yrange [0:*]
set ylabel "requests/s"
set y2label "errors per interval"
set ytics nomirror
set y2tics
set y2range [0:*]
plot csv using (column("t_s")/60.0):(column("view_n")/iv) with lines lw 2 title "views/s", \
     ''  using (column("t_s")/60.0):(column("hls_n")/iv) with lines lw 2 title "HLS/s", \
     ''  using (column("t_s")/60.0):(column("view_err")+column("hls_err")+column("stats_err")+column("junk_err")+column("slow_err")) axes x1y2 with impulses lw 3 title "errors (all classes)"
unset multiplot
