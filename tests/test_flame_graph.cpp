// The flame-graph renderer on known stacks: merging, widths proportional to samples, hover
// text, clipped and escaped names, colours by kind, frames too narrow to draw counted.
#include "support.hpp"

#include <map>
#include <regex>
#include <string>

using namespace bpfco;

namespace {

struct drawn {
    std::string title;
    double x, y, width;
    std::string fill;
    std::string text;
};

// Every frame of the picture by its hover text ("name (N samples, P%)").
std::map<std::string, drawn> frames_of(const std::string& svg) {
    static const std::regex g(
        R"re(<g class="f (?:process|user|kernel)"><title>([^<]*)</title><rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="[0-9.]+" rx="2" fill="([^"]+)"/>(?:<text [^>]*>([^<]*)</text>)?</g>)re");
    std::map<std::string, drawn> out;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), g); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        out[m[1]] = {m[1], std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), m[5], m[6]};
    }
    return out;
}

}  // namespace

TEST_CASE("folded stacks merge by prefix and frames are as wide as their samples") {
    flame_graph fg;
    REQUIRE(fg.add_folded("app;main;hot 6\napp;main;cold 2\n\napp;main;read;vfs_read_[k] 2\r\n").has_value());
    CHECK(fg.total() == 10);
    flame_graph_options o;
    o.title = "CPU";
    o.subtitle = "test";
    const auto svg = fg.svg(o);
    CHECK(svg.starts_with("<?xml"));
    CHECK(svg.find("<text class=\"title\" x=\"600.0\" y=\"24.0\">CPU</text>") != std::string::npos);
    const auto f = frames_of(svg);
    REQUIRE(f.size() == 7);
    const auto& all = f.at("all (10 samples, 100.00%)");
    const auto& main = f.at("main (10 samples, 100.00%)");
    const auto& hot = f.at("hot (6 samples, 60.00%)");
    const auto& cold = f.at("cold (2 samples, 20.00%)");
    const auto& kernel = f.at("vfs_read (2 samples, 20.00%)");
    CHECK(all.width == doctest::Approx(1180));
    CHECK(main.width == doctest::Approx(1180));
    CHECK(hot.width == doctest::Approx(708));
    CHECK(cold.width == doctest::Approx(236));
    // Callees sit one frame above their caller; siblings side by side in name order.
    CHECK(main.y == doctest::Approx(all.y - 32));
    CHECK(hot.y == doctest::Approx(main.y - 16));
    CHECK(kernel.y == doctest::Approx(hot.y - 16));
    CHECK(cold.x < hot.x);
    CHECK(hot.text == "hot");
    CHECK(svg.find("<g class=\"f kernel\"><title>vfs_read (") != std::string::npos);
    CHECK(svg.find("<g class=\"f user\"><title>hot (") != std::string::npos);
    CHECK(svg.find("<g class=\"f process\"><title>app (") != std::string::npos);
    // Kernel frames in the aqua palette, user frames in the warm one.
    CHECK(kernel.fill.starts_with("rgb("));
    auto channels = [](const std::string& rgb) {
        int r = 0, g = 0, b = 0;
        std::sscanf(rgb.c_str(), "rgb(%d,%d,%d)", &r, &g, &b);
        return std::array<int, 3>{r, g, b};
    };
    CHECK(channels(kernel.fill)[2] > channels(kernel.fill)[0]);
    CHECK(channels(hot.fill)[0] >= 205);
    CHECK(channels(hot.fill)[2] <= 55);
}

TEST_CASE("names are escaped, clipped to their frame and kept whole in the hover text") {
    flame_graph fg;
    const std::string long_name = "std::vector<std::pair<int, std::string>>::emplace_back<int&, char const (&) [4]>";
    const flame_frame wide[] = {{"p", frame_kind::process}, {long_name, frame_kind::user}};
    const flame_frame narrow[] = {{"p", frame_kind::process}, {"a&b", frame_kind::user}};
    fg.add(wide, 1);
    fg.add(narrow, 99);
    flame_graph_options o;
    o.width = 400;
    const auto svg = fg.svg(o);
    CHECK(svg.find("a&amp;b (99 samples, 99.00%)") != std::string::npos);
    const auto f = frames_of(svg);
    const auto& tiny = f.at("std::vector&lt;std::pair&lt;int, std::string&gt;&gt;::emplace_back&lt;int&amp;, char const "
                            "(&amp;) [4]&gt; (1 sample, 1.00%)");
    CHECK(tiny.text.empty());  // 3.8 px: no room for three characters
    CHECK(f.at("a&amp;b (99 samples, 99.00%)").text == "a&amp;b");
    flame_graph one;
    one.add(wide, 1);
    o.width = 200;
    const auto g = frames_of(one.svg(o));
    const auto& clipped = g.at("std::vector&lt;std::pair&lt;int, std::string&gt;&gt;::emplace_back&lt;int&amp;, char "
                               "const (&amp;) [4]&gt; (1 sample, 100.00%)");
    CHECK(clipped.text == "std::vector&lt;std::pair&lt;..");  // 180 px hold 24 characters of 7.08 px
}

TEST_CASE("frames too narrow to draw are left out and counted in the picture") {
    flame_graph fg;
    REQUIRE(fg.add_folded("p;big 100000\np;small;inner 1\n").has_value());
    const auto svg = fg.svg();  // 1200 px, frames under 0.1 px hidden
    CHECK(svg.find("small (") == std::string::npos);
    CHECK(svg.find("2 frames narrower than 0.1 px not drawn") != std::string::npos);
    CHECK(fg.total() == 100001);
}

TEST_CASE("a folded line without a count fails naming the line; an empty graph still draws its root") {
    flame_graph fg;
    auto r = fg.add_folded("p;a 1\np;b\n");
    REQUIRE(r.has_error());
    CHECK(r.error().message.find("line 2") != std::string::npos);
    CHECK(fg.total() == 1);  // the line before stays
    flame_graph empty;
    const auto f = frames_of(empty.svg());
    REQUIRE(f.size() == 1);
    CHECK(f.begin()->first == "all (0 samples, 0.00%)");
    CHECK(f.begin()->second.width == doctest::Approx(1180));
}
