module spaces/bench/hls_load

go 1.19
