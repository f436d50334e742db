// A program with a USDT probe to try usdt_trace on: after a line on stdin it fires
// bpfco_demo:tick N times with (i, i * i), then exits.
//   usdt_target [N]
#include <sys/sdt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100;
    std::printf("usdt_target: pid %ld, %ld ticks after a line on stdin\n", static_cast<long>(::getpid()), n);
    std::fflush(stdout);
    std::string line;
    std::getline(std::cin, line);
    for (long i = 1; i <= n; ++i) {
        long square = i * i;
        DTRACE_PROBE2(bpfco_demo, tick, i, square);
    }
    return 0;
}
