// The layout check on BTF built here (libbpf's btf__add_* API), so it runs without a kernel:
// member enumeration of C++ mirrors, and each kind of drift named in the message.
#include <bpfco/btf_layout.hpp>

#include <doctest/doctest.h>

#include <bpf/btf.h>

#include <cstdint>
#include <memory>
#include <string>

using namespace bpfco;

namespace {
struct nested {
    std::uint16_t a, b;
};
struct with_arrays {
    std::uint64_t ts;
    char comm[16];
    nested n;
    std::uint32_t ports[3];
};
static_assert(detail::member_count<with_arrays>() == 4, "an array or struct member is one member");
static_assert(mirror_struct<with_arrays>);
static_assert(!mirror_struct<std::uint64_t> && !mirror_struct<std::array<int, 2>>);

namespace ns {
struct event {
    std::uint32_t pid;
    std::uint16_t kind;
    std::uint16_t flags;
    std::uint64_t ts;
};
}  // namespace ns
struct event_reordered {  // same 16 bytes, kind and flags moved behind ts
    std::uint32_t pid;
    std::uint32_t pad;
    std::uint64_t ts;
};
struct event_signed {  // same layout, kind made signed
    std::uint32_t pid;
    std::int16_t kind;
    std::uint16_t flags;
    std::uint64_t ts;
};
struct event_double {  // same layout, ts made a double
    std::uint32_t pid;
    std::uint16_t kind;
    std::uint16_t flags;
    double ts;
};
enum class kind_enum : std::uint16_t {};
struct event_enum {  // an enum where BPF has an integer of its size: accepted
    std::uint32_t pid;
    kind_enum kind;
    std::uint16_t flags;
    std::uint64_t ts;
};
struct event_extra {
    std::uint32_t pid;
    std::uint16_t kind;
    std::uint16_t flags;
    std::uint64_t ts;
    std::uint64_t more;
};

// struct event { u32 pid; u16 kind; u16 flags; u64 ts; } as clang would describe it.
struct event_btf {
    std::unique_ptr<btf, void (*)(btf*)> b{btf__new_empty(), btf__free};
    int id = 0;
    event_btf() {
        const int u16 = btf__add_int(b.get(), "unsigned short", 2, 0);
        const int u32 = btf__add_int(b.get(), "unsigned int", 4, 0);
        const int u64 = btf__add_int(b.get(), "unsigned long long", 8, 0);
        id = btf__add_struct(b.get(), "event", 16);
        btf__add_field(b.get(), "pid", u32, 0, 0);
        btf__add_field(b.get(), "kind", u16, 32, 0);
        btf__add_field(b.get(), "flags", u16, 48, 0);
        btf__add_field(b.get(), "ts", u64, 64, 0);
    }
};
}  // namespace

TEST_CASE("C++ mirrors: members enumerated with their offsets and sizes, arrays and structs as one") {
    const auto l = detail::layout_of<with_arrays>();
    CHECK(l.type_name == "with_arrays");
    CHECK(detail::type_name<ns::event>() == "event");
    REQUIRE(l.members.size() == 4);
    CHECK(l.members[1].offset == 8);
    CHECK(l.members[1].size == 16);
    CHECK(l.members[2].offset == 24);
    CHECK(l.members[3].size == 12);
}

TEST_CASE("layout check against BTF: match, reorder, extra member, unknown struct") {
    event_btf e;
    REQUIRE(e.id > 0);
    CHECK(detail::check_layout(e.b.get(), static_cast<std::uint32_t>(e.id), detail::layout_of<ns::event>(), "t"));
    CHECK(detail::find_struct(e.b.get(), "event", "t").value() == static_cast<std::uint32_t>(e.id));

    auto r = detail::check_layout(e.b.get(), static_cast<std::uint32_t>(e.id), detail::layout_of<event_reordered>(), "t");
    REQUIRE(!r);
    CHECK(r.error().message ==
          "t: struct 'event' and C++ 'event_reordered' do not match: member 1 'kind' differs (BPF: at 4, 2 bytes, "
          "unsigned integer; C++: at 4, 4 bytes, unsigned integer)\n"
          "  BPF: {pid at 0, 4 bytes, unsigned integer; kind at 4, 2 bytes, unsigned integer; flags at 6, 2 bytes, "
          "unsigned integer; ts at 8, 8 bytes, unsigned integer} (16 bytes)\n"
          "  C++: {#0 at 0, 4 bytes, unsigned integer; #1 at 4, 4 bytes, unsigned integer; #2 at 8, 8 bytes, "
          "unsigned integer} (16 bytes)");

    auto x = detail::check_layout(e.b.get(), static_cast<std::uint32_t>(e.id), detail::layout_of<event_extra>(), "t");
    REQUIRE(!x);
    CHECK(x.error().message.find("C++ has 5 members, BPF only 4: member 4 has no BPF counterpart") != std::string::npos);

    auto u = detail::find_struct(e.b.get(), "evnt", "t");
    REQUIRE(!u);
    CHECK(u.error().message.find("no struct named 'evnt' in its BTF (structs: event)") != std::string::npos);
}

TEST_CASE("layout check compares kinds: a signedness or integer/float change of the same size is named") {
    event_btf e;
    const auto id = static_cast<std::uint32_t>(e.id);
    auto s = detail::check_layout(e.b.get(), id, detail::layout_of<event_signed>(), "t");
    REQUIRE(!s);
    CHECK(s.error().message.find("member 1 'kind' differs (BPF: at 4, 2 bytes, unsigned integer; C++: at 4, 2 bytes, "
                                 "signed integer)") != std::string::npos);
    auto d = detail::check_layout(e.b.get(), id, detail::layout_of<event_double>(), "t");
    REQUIRE(!d);
    CHECK(d.error().message.find("member 3 'ts' differs (BPF: at 8, 8 bytes, unsigned integer; C++: at 8, 8 bytes, "
                                 "floating-point)") != std::string::npos);
    CHECK(detail::check_layout(e.b.get(), id, detail::layout_of<event_enum>(), "t"));

    CHECK(detail::kind_of<char[16]>() == detail::value_kind::character);
    CHECK(detail::kind_of<std::array<std::uint8_t, 4>>() == detail::value_kind::character);
    CHECK(detail::kind_of<bool>() == detail::value_kind::boolean);
    CHECK(detail::kind_of<float>() == detail::value_kind::floating);
    CHECK(detail::kind_of<std::int64_t>() == detail::value_kind::signed_int);
}

TEST_CASE("a whole type against BTF: global<double> on a __u64 names both types") {
    std::unique_ptr<btf, void (*)(btf*)> b{btf__new_empty(), btf__free};
    const int u64 = btf__add_int(b.get(), "unsigned long long", 8, 0);
    const int u64_t = btf__add_typedef(b.get(), "__u64", u64);
    const int bool_id = btf__add_int(b.get(), "_Bool", 1, BTF_INT_BOOL);
    const int chr = btf__add_int(b.get(), "char", 1, BTF_INT_SIGNED);
    const int comm = btf__add_array(b.get(), u64, chr, 16);
    auto type = [](auto name, std::size_t size, detail::value_kind kind) { return detail::cpp_type{name, size, kind}; };
    using enum detail::value_kind;
    auto r = detail::check_type(b.get(), static_cast<std::uint32_t>(u64_t), type("double", 8, floating), "g");
    REQUIRE(!r);
    CHECK(r.error().message == "g: type mismatch: the variable is __u64 (unsigned integer, 8 bytes), the C++ type is "
                               "double (floating-point, 8 bytes)");
    CHECK(!detail::check_type(b.get(), static_cast<std::uint32_t>(u64_t), type("long", 8, signed_int), "g"));
    CHECK(detail::check_type(b.get(), static_cast<std::uint32_t>(u64_t), type("unsigned long", 8, unsigned_int), "g"));
    CHECK(detail::check_type(b.get(), static_cast<std::uint32_t>(bool_id), type("bool", 1, detail::value_kind::boolean), "g"));
    CHECK(!detail::check_type(b.get(), static_cast<std::uint32_t>(bool_id), type("unsigned char", 1, character), "g"));
    CHECK(detail::check_type(b.get(), static_cast<std::uint32_t>(comm), type("std::array<char, 16>", 16, character), "g"));
    auto wrong_array = detail::check_type(b.get(), static_cast<std::uint32_t>(comm), type("std::array<short, 8>", 16, signed_int), "g");
    REQUIRE(!wrong_array);
    CHECK(wrong_array.error().message.find("the variable is char[16] (char, 16 bytes)") != std::string::npos);
    // Bytes over an integer are a raw view (an address in network order): accepted.
    CHECK(detail::check_type(b.get(), static_cast<std::uint32_t>(u64_t), type("std::array<std::uint8_t, 8>", 8, character), "g"));
}
