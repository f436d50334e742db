#define DOCTEST_CONFIG_IMPLEMENT
#include "support.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace bpfco::testing {

void skip(const std::string& why) {
    auto* cs = doctest::detail::g_cs;
    std::printf("SKIPPED: %s: %s\n", cs && cs->currentTest ? cs->currentTest->m_name : "?", why.c_str());
    std::fflush(stdout);
}

bool is_root() { return ::geteuid() == 0; }

int open_fd_count() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

namespace {
std::vector<std::uint32_t> ids(int (*next)(std::uint32_t, std::uint32_t*)) {
    std::vector<std::uint32_t> out;
    std::uint32_t id = 0;
    while (next(id, &id) == 0) out.push_back(id);
    return out;
}
std::vector<std::uint32_t> minus(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    std::vector<std::uint32_t> out;
    for (auto x : a)
        if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
    return out;
}
}  // namespace

kernel_ids list_kernel_ids() {
    return {ids(bpf_prog_get_next_id), ids(bpf_map_get_next_id), ids(bpf_link_get_next_id)};
}

kernel_ids new_ids(const kernel_ids& before, const kernel_ids& after) {
    return {minus(after.progs, before.progs), minus(after.maps, before.maps), minus(after.links, before.links)};
}

kernel_ids wait_gone(const kernel_ids& made) {
    kernel_ids still;
    for (int i = 0; i < 200; ++i) {
        auto now = list_kernel_ids();
        still = {minus(made.progs, minus(made.progs, now.progs)), minus(made.maps, minus(made.maps, now.maps)),
                 minus(made.links, minus(made.links, now.links))};
        if (still.progs.empty() && still.maps.empty() && still.links.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return still;
}

kernel_ids own_ids() {
    kernel_ids out;
    auto add = [](std::vector<std::uint32_t>& v, std::uint32_t id) {
        if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
    };
    DIR* d = ::opendir("/proc/self/fdinfo");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        FILE* f = std::fopen((std::string("/proc/self/fdinfo/") + e->d_name).c_str(), "r");
        if (!f) continue;
        char line[256];
        unsigned id = 0;
        while (std::fgets(line, sizeof line, f)) {
            if (std::sscanf(line, "prog_id: %u", &id) == 1) add(out.progs, id);
            else if (std::sscanf(line, "map_id: %u", &id) == 1) add(out.maps, id);
            else if (std::sscanf(line, "link_id: %u", &id) == 1) add(out.links, id);
        }
        std::fclose(f);
    }
    ::closedir(d);
    return out;
}

int run(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string output_of(const std::string& command) {
    std::string out;
    if (FILE* f = ::popen(command.c_str(), "r")) {
        std::array<char, 4096> buf;
        std::size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
        ::pclose(f);
    }
    return out;
}

}  // namespace bpfco::testing

int main(int argc, char** argv) {
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
