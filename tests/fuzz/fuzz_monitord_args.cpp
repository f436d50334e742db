// monitord's command line and CIDR parsing on arbitrary input: NUL-separated arguments.
#include "options.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string_view> args;
    for (std::size_t start = 0; start <= in.size();) {
        auto end = in.find('\0', start);
        if (end == std::string_view::npos) end = in.size();
        args.push_back(in.substr(start, end - start));
        start = end + 1;
    }
    if (auto o = monitord::parse_options(args)) {
        for (auto& c : o.value().blocked) {
            // A parsed range prints and parses back to itself.
            auto again = monitord::parse_cidr(c.to_string());
            if (!again || !(again.value() == c)) __builtin_trap();
        }
        // The printed metrics address (IPv6 bracketed) is a --listen value that parses back to itself.
        auto listen = "--listen=" + monitord::host_port(o.value().listen_address, o.value().listen_port);
        std::string_view again_args[] = {listen};
        auto again = monitord::parse_options(again_args);
        if (!again || again.value().listen_address != o.value().listen_address ||
            again.value().listen_port != o.value().listen_port)
            __builtin_trap();
        (void)monitord::is_loopback(o.value().listen_address);
    }
    (void)monitord::parse_cidr(in);
    return 0;
}
