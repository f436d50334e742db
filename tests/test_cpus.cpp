// CPU lists: the strict parser on the shapes the kernel writes and on what it never writes, and
// the two sysfs readers agreeing with each other on this machine (no BPF, no privilege).
#include "support.hpp"

#include <bpfco/cpus.hpp>

#include <algorithm>
#include <string>
#include <vector>

using bpfco::parse_cpu_list;

namespace {

// The message of a failed parse, so a test can check that it names the list and the reason.
std::string parse_error(std::string_view list) {
    auto r = parse_cpu_list(list);
    REQUIRE(r.has_error());
    CHECK(r.error().code == std::errc::invalid_argument);
    return r.error().message;
}

}  // namespace

TEST_CASE("a CPU list as the kernel writes it") {
    CHECK(parse_cpu_list("0").value() == std::vector<int>{0});
    CHECK(parse_cpu_list("0-3").value() == std::vector<int>{0, 1, 2, 3});
    CHECK(parse_cpu_list("0-3,5,7-8").value() == std::vector<int>{0, 1, 2, 3, 5, 7, 8});
    CHECK(parse_cpu_list("2,4-5").value() == std::vector<int>{2, 4, 5});
    CHECK(parse_cpu_list("0-3,5\n").value() == std::vector<int>{0, 1, 2, 3, 5});
    CHECK(parse_cpu_list("7-7").value() == std::vector<int>{7});
    CHECK(parse_cpu_list("65535").value() == std::vector<int>{65535});
}

TEST_CASE("a CPU list the kernel never writes is an error naming the list and the reason") {
    CHECK(parse_error("") == "CPU list '': cannot parse: empty");
    CHECK(parse_error("\n") == "CPU list '': cannot parse: empty");
    CHECK(parse_error("3-1") == "CPU list '3-1': cannot parse: range 3-1 ends below its start");
    CHECK(parse_error("a") == "CPU list 'a': cannot parse: expected a CPU number");
    CHECK(parse_error("0-3x") == "CPU list '0-3x': cannot parse: unexpected 'x'");
    CHECK(parse_error("4294967296") == "CPU list '4294967296': cannot parse: CPU number above 65535");
    CHECK(parse_error("0-65536") == "CPU list '0-65536': cannot parse: CPU number above 65535");
    CHECK(parse_error("5,1") == "CPU list '5,1': cannot parse: CPU 1 out of order or repeated");
    CHECK(parse_error("0-3,2") == "CPU list '0-3,2': cannot parse: CPU 2 out of order or repeated");
    for (std::string_view garbage : {"-1", "+1", " 1", "1 ", "1,", ",1", "1,,2", "1-", "-", "1-2-3", "1\n\n", "0x1"}) {
        CAPTURE(garbage);
        CHECK(parse_cpu_list(garbage).has_error());
    }
}

TEST_CASE("the online CPUs are among the possible ones") {
    const auto online = bpfco::online_cpus();
    REQUIRE_MESSAGE(online, online.error().message);
    const auto possible = bpfco::possible_cpus();
    REQUIRE_MESSAGE(possible, possible.error().message);
    REQUIRE(!online.value().empty());
    CHECK(std::ranges::is_sorted(online.value()));
    for (int cpu : online.value()) CHECK(static_cast<std::size_t>(cpu) < possible.value());
    CHECK(online.value().size() <= possible.value());
    CHECK(bpfco::possible_cpus().value() == possible.value());  // cached: the same answer again
}
