// The version the header announces is the one the library reports, and both follow meson's
// project version (passed in as BPFCO_TEST_PROJECT_VERSION).
#include "support.hpp"

#include <string>

TEST_CASE("version() and the version macros agree with the project version") {
    CHECK(bpfco::version() == BPFCO_TEST_PROJECT_VERSION);
    CHECK(bpfco::version() == BPFCO_VERSION_STRING);
    const std::string parts = std::to_string(BPFCO_VERSION_MAJOR) + "." + std::to_string(BPFCO_VERSION_MINOR) +
                              "." + std::to_string(BPFCO_VERSION_PATCH);
    CHECK(parts == BPFCO_VERSION_STRING);
    static_assert(BPFCO_VERSION == BPFCO_VERSION_MAJOR * 10000 + BPFCO_VERSION_MINOR * 100 + BPFCO_VERSION_PATCH);
}
