// One file built with `pkg-config --cflags --libs bpfco`: the installed headers (the library's
// and the BPF-shared ones) compile and the installed shared library links and runs.
#include <bpfco/bpfco.hpp>

#include <linux/types.h>
#include <bpfco/histogram_slot.h>

#include <cstdio>
#include <string_view>

int main() {
    if (bpfco::version() != BPFCO_VERSION_STRING) {
        std::fprintf(stderr, "header says %s, library says %.*s\n", BPFCO_VERSION_STRING,
                     static_cast<int>(bpfco::version().size()), bpfco::version().data());
        return 1;
    }
    // The same slot from the BPF-side helper and the library: both installed headers agree.
    if (bpfco_log2_slot(1000) != bpfco::histogram::log2_slot(1000)) return 1;
    std::printf("pkg-config consumer: bpfco %s\n", BPFCO_VERSION_STRING);
    return 0;
}
