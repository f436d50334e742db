// The loader next to libbpf: the same names for the same bytes, the same tolerance of a .BTF that
// nothing needs, the fuzzers' fences kept, hints from facts, and handles that are empty (default-
// constructed or moved-from) answering every call with an error instead of crashing.
#include "support.hpp"

#include "../src/loader/elf_check.hpp"
#include "../src/internal/hints.hpp"

#include "loader_no_maps.bpf.skel.h"
#include "loader_test.bpf.skel.h"

#include <bpf/libbpf.h>
#include <elf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {
bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::vector<std::string> libbpf_map_names(const bpf_object* o) {
    std::vector<std::string> out;
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(o, m))) out.emplace_back(bpf_map__name(m));
    return out;
}

// The object with every program switched off, so that a test switches on only what it uses.
object open_loader_test() {
    auto obj = object::open_skeleton("loader_test_bpf", loader_test_bpf__elf_bytes).value();
    for (auto& p : obj.programs()) p.set_autoload(false).value();
    return obj;
}

// A copy of `elf` whose .BTF header magic is zeroed, so that btf__new() refuses it.
std::vector<std::byte> with_broken_btf(std::span<const std::byte> orig) {
    std::vector<std::byte> elf(orig.begin(), orig.end());
    Elf64_Ehdr eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    auto shdr = [&](int i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        return sh;
    };
    const auto names = shdr(eh.e_shstrndx);
    for (int i = 0; i < eh.e_shnum; ++i) {
        const auto sh = shdr(i);
        if (std::strcmp(reinterpret_cast<const char*>(elf.data() + names.sh_offset + sh.sh_name), ".BTF") == 0)
            std::memset(elf.data() + sh.sh_offset, 0, 2);  // btf_header.magic
    }
    return elf;
}

struct temp_file {
    std::string path;
    temp_file(std::string p, std::span<const std::byte> bytes) : path(std::move(p)) {
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                    static_cast<std::streamsize>(bytes.size()));
    }
    ~temp_file() { std::remove(path.c_str()); }
};
}  // namespace

TEST_CASE("object and internal map names are libbpf's: file, memory and skeleton") {
    auto elf = elf_of(loader_test_bpf__elf_bytes);
    temp_file file("/tmp/bpfco_loader_" + std::to_string(::getpid()) + ".bpf.o", elf);

    bpf_object* lib_file = bpf_object__open(file.path.c_str());
    REQUIRE(lib_file);
    auto ours_file = object::open_file(file.path).value();
    CHECK(ours_file.name() == bpf_object__name(lib_file));
    // Cut at the first '.', and to the kernel's 15 characters.
    CHECK(ours_file.name() == ("bpfco_loader_" + std::to_string(::getpid())).substr(0, 15));
    CHECK(ours_file.map_names() == libbpf_map_names(lib_file));
    MESSAGE("file object '", ours_file.name(), "', maps: ", fmt::format("{}", fmt::join(ours_file.map_names(), ", ")));
    bpf_object__close(lib_file);

    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "runqlat");
    bpf_object* lib_mem = bpf_object__open_mem(elf.data(), elf.size(), &opts);
    REQUIRE(lib_mem);
    auto ours_mem = object::open_memory("runqlat", elf).value();
    CHECK(ours_mem.name() == bpf_object__name(lib_mem));
    CHECK(ours_mem.map_names() == libbpf_map_names(lib_mem));
    CHECK(contains(fmt::format("{}", fmt::join(ours_mem.map_names(), ",")), "runqlat.rodata"));
    bpf_object__close(lib_mem);

    loader_test_bpf* skel = loader_test_bpf__open();
    REQUIRE(skel);
    auto ours_skel = object::open_skeleton("loader_test_bpf", loader_test_bpf__elf_bytes).value();
    CHECK(ours_skel.name() == bpf_object__name(skel->obj));
    CHECK(ours_skel.map_names() == libbpf_map_names(skel->obj));
    loader_test_bpf__destroy(skel);
}

TEST_CASE("internal maps by section name and by kernel name") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    for (std::string name : {"runqlat", "loader_test_bpf"}) {
        auto obj = object::open_memory(name, elf_of(loader_test_bpf__elf_bytes)).value();
        for (auto& p : obj.programs()) p.set_autoload(false).value();
        obj.program("open_tracepoint").value().set_autoload(true).value();
        obj.load().value();
        auto by_section = obj.map(".rodata").value();
        MESSAGE("object '", name, "': .rodata is '", by_section.name(), "' in the kernel");
        CHECK(obj.map(by_section.name()).has_value());        // libbpf's (kernel) name
        CHECK(obj.map(name + ".rodata").has_value());         // the object's full name
        CHECK(obj.map(".bss").has_value());
        // The kernel's name is libbpf's ("runqlat.rodata"; a long object name is cut to fit).
        CHECK(by_section.name() == bpf_map__name(bpf_object__find_map_by_name(obj.native_handle(), ".rodata")));
        if (name == "runqlat") CHECK(by_section.name() == "runqlat.rodata");
        auto missing = obj.map(name + ".nosuch");
        REQUIRE(missing.has_error());
        CHECK(contains(missing.error().message, ".rodata"));  // lists what exists
    }
}

TEST_CASE("an unparseable .BTF that nothing needs is ignored, as libbpf ignores it") {
    auto broken = with_broken_btf(elf_of(loader_no_maps_bpf__elf_bytes));
    CHECK(detail::elf_problem(broken, "no_maps").empty());
    {
        LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "no_maps");
        bpf_object* lib = bpf_object__open_mem(broken.data(), broken.size(), &opts);
        CHECK(lib != nullptr);  // libbpf opens it too
        bpf_object__close(lib);
    }
    if (!testing::is_root()) {
        testing::skip("loading needs root");
        return;
    }
    testing::fd_leak_check fds;
    auto obj = object::load_memory("no_maps", broken).value();
    auto link = obj.program("count_getppid").value().attach().value();
    auto bss = obj.map(".bss").value();
    const std::uint32_t zero = 0;
    std::uint64_t before = 0, after = 0;
    bss.lookup_bytes(&zero, &before).value();
    for (int i = 0; i < 50; ++i) ::syscall(SYS_getppid);
    bss.lookup_bytes(&zero, &after).value();
    CHECK(after - before >= 50);  // every process's getppid counts: at least ours
}

TEST_CASE("an unparseable .BTF that the object's maps need is refused with the reason") {
    auto broken = with_broken_btf(elf_of(loader_test_bpf__elf_bytes));
    auto r = object::open_memory("needs_btf", broken);
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().code == std::errc::invalid_argument);
    CHECK(contains(r.error().message, "'needs_btf'"));
    CHECK(contains(r.error().message, ".BTF"));
}

TEST_CASE("the fuzzers' corpus: refused or opened, never a crash") {
    std::size_t seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(BPFCO_FUZZ_CORPUS "/object")) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
        const auto name = entry.path().filename().string();
        const auto problem = detail::elf_problem(bytes, name);
        auto obj = object::open_memory(name, bytes);
        INFO(name, ": ", problem);
        // The inputs that crashed or hung libbpf 1.1 stay refused before libbpf sees them.
        if (name.starts_with("libbpf-") || name.starts_with("truncated")) {
            CHECK(!problem.empty());
            CHECK(obj.has_error());
        }
        if (name.ends_with(".o")) CHECK(obj.has_value());
        ++seen;
    }
    CHECK(seen >= 5);
}

TEST_CASE("empty objects, programs, maps and links answer every call with an error, never a crash") {
    object moved = object::open_memory("loader_test", elf_of(loader_test_bpf__elf_bytes)).value();
    object taker(std::move(moved));
    for (object* o : {&moved, static_cast<object*>(nullptr)}) {
        object fresh;
        object& obj = o ? *o : fresh;
        CHECK(obj.name().empty());
        CHECK(!obj.loaded());
        CHECK(obj.native_handle() == nullptr);
        CHECK(obj.programs().empty());
        CHECK(obj.map_names().empty());
        auto p = obj.program("open_tracepoint");
        REQUIRE(p.has_error());
        MESSAGE(p.error().message);
        CHECK(p.error().code == std::errc::bad_file_descriptor);
        CHECK(obj.map("opens").has_error());
        CHECK(obj.map<hash_map<std::uint32_t, std::uint64_t>>("opens").has_error());
        CHECK(obj.load().has_error());
        CHECK(obj.set_pin_path("opens", "/sys/fs/bpf/bpfco_loader_never").has_error());
        CHECK(obj.set_max_entries("opens", 4).has_error());
        CHECK(obj.choose_alternatives({{"open_tracepoint"}}).has_error());
    }
    CHECK(taker.program("open_tracepoint").has_value());  // the move took everything

    program prog;
    CHECK(!prog);
    CHECK(prog.name().empty());
    CHECK(prog.section().empty());
    CHECK(prog.fd() == -1);
    CHECK(prog.type() == program_type::unspec);
    CHECK(prog.native_handle() == nullptr);
    prog.set_autoload(false).value();  // documented: does nothing
    auto a = prog.attach();
    REQUIRE(a.has_error());
    MESSAGE(a.error().message);
    CHECK(a.error().code == std::errc::bad_file_descriptor);
    CHECK(prog.attach_tracepoint("syscalls", "sys_enter_openat").has_error());
    CHECK(prog.attach_raw_tracepoint("sys_enter").has_error());
    CHECK(prog.attach_kprobe("do_sys_openat2").has_error());
    CHECK(prog.attach_kretprobe("do_sys_openat2").has_error());
    CHECK(prog.attach_uprobe("/proc/self/exe", "main").has_error());
    CHECK(prog.attach_xdp("lo").has_error());
    CHECK(prog.attach_xdp(1).has_error());
    CHECK(prog.attach_tc("lo", tc_direction::ingress).has_error());
    CHECK(prog.attach_tcx("lo", tc_direction::ingress).has_error());
    CHECK(prog.attach_perf_event(unique_fd(::dup(0))).has_error());  // and closes the fd it was given
    CHECK(prog.attach_trace().has_error());
    CHECK(prog.attach_cgroup("/sys/fs/cgroup", attach_type::cgroup_inet_ingress).has_error());
    CHECK(prog.attach_socket_filter(0).error().code == std::errc::bad_file_descriptor);
    CHECK(prog.attach_sockmap(map()).error().code == std::errc::bad_file_descriptor);
    CHECK(prog.pin("/sys/fs/bpf/bpfco_loader_never").error().code == std::errc::bad_file_descriptor);
    CHECK(!prog.make_error(EINVAL, "x").message.empty());

    map m;
    map moved_map = std::move(m);
    for (map* mp : {&m, &moved_map}) {
        const map& e = *mp;
        CHECK(!e);
        CHECK(e.fd() == -1);
        CHECK(e.name().empty());
        CHECK(e.duplicate().has_error());
        CHECK(e.pin("/sys/fs/bpf/bpfco_loader_never").has_error());
        std::uint64_t key = 0, value = 0;
        CHECK(e.lookup_bytes(&key, &value).has_error());
        CHECK(e.insert_bytes(&key, &value, update_flags::any).has_error());
        CHECK(e.erase_bytes(&key).has_error());
        CHECK(e.next_key_bytes(nullptr, &key).has_error());
        const map_type types[] = {map_type::hash};
        CHECK(e.check(types, 8, 8).has_error());
        CHECK(!e.make_error(EINVAL, "x").message.empty());
    }
    CHECK(!std::filesystem::exists("/sys/fs/bpf/bpfco_loader_never"));

    bpfco::link l;
    bpfco::link moved_link = std::move(l);
    for (bpfco::link* lp : {&l, &moved_link}) {
        CHECK(!*lp);
        CHECK(lp->fd() == -1);
        auto pin = lp->pin("/sys/fs/bpf/bpfco_loader_never");
        REQUIRE(pin.has_error());
        MESSAGE(pin.error().message);
        lp->detach();
        lp->detach();
    }
}

TEST_CASE("error_exception::what() is the message, with the errno text once") {
    auto r = object::open_file("/nonexistent/bpfco_loader.bpf.o");
    REQUIRE(r.has_error());
    try {
        (void)r.value();
        FAIL("value() did not throw");
    } catch (const error_exception& e) {
        MESSAGE(std::string(e.what()));
        CHECK(std::string(e.what()) == r.error().message);
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        const std::string text = std::strerror(ENOENT);
        const std::string what = e.what();
        CHECK(what.find(text) != std::string::npos);
        CHECK(what.find(text) == what.rfind(text));
        // The file is named once.
        CHECK(what.find("bpfco_loader.bpf.o") == what.rfind("bpfco_loader.bpf.o"));
    }
}

TEST_CASE("a missing fentry target is named") {
    BPFCO_REQUIRE_ROOT();
    auto obj = open_loader_test();
    obj.program("fentry_missing_target").value().set_autoload(true).value();
    auto r = obj.load();
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(contains(r.error().message, "program 'fentry_missing_target'"));
    CHECK(contains(r.error().message, "'bpfco_loader_no_such_function'"));
    CHECK(!contains(r.error().message, "CAP_BPF"));
}

TEST_CASE("an LSM program says what this kernel lacks, not capabilities") {
    BPFCO_REQUIRE_ROOT();
    MESSAGE("active LSMs: '", features::active_lsms(), "', fentry: ", features::fentry(), ", lsm: ", features::lsm());
    auto obj = open_loader_test();
    obj.program("lsm_file_open").value().set_autoload(true).value();
    auto loaded = obj.load();
    if (loaded.has_value()) {
        auto l = obj.program("lsm_file_open").value().attach();
        if (features::lsm()) {
            CHECK(l.has_value());
            return;
        }
        REQUIRE(l.has_error());
        MESSAGE(l.error().message);
        CHECK(contains(l.error().message, "lsm="));
        return;
    }
    MESSAGE(loaded.error().message);
    CHECK(contains(loaded.error().message, "program 'lsm_file_open'"));
    CHECK(!contains(loaded.error().message, "lacks CAP_BPF"));
    CHECK((contains(loaded.error().message, "trampolines") || contains(loaded.error().message, "lsm=")));
}

TEST_CASE("EPERM as root: the hint rules capabilities out only when the process has them all") {
    BPFCO_REQUIRE_ROOT();
    auto hint = privilege_hint(EPERM);
    MESSAGE(hint);
    // Root may still lack some (CAP_SYS_RESOURCE outside a container's bounding set).
    if (const auto missing = detail::missing_capabilities(); missing.empty()) {
        CHECK(contains(hint, "not the cause"));
    } else {
        CHECK(contains(hint, "lacks " + missing));
        CHECK(!contains(hint, "not the cause"));
    }
    CHECK(privilege_hint(ENOENT).empty());
}

TEST_CASE("generic attach() gives the specific calls' hints and names the attach_* to use") {
    BPFCO_REQUIRE_ROOT();
    auto obj = open_loader_test();
    const char* kinds[] = {"kprobe_no_target", "uprobe_no_target", "usdt_no_target", "tracepoint_no_target",
                           "raw_tp_no_target", "on_cgroup_skb", "on_perf_event", "on_socket", "on_tc",
                           "on_xdp", "open_kprobe"};
    for (auto* k : kinds) obj.program(k).value().set_autoload(true).value();
    obj.load().value();
    auto expect = [&](const char* prog, std::string_view needle) {
        auto l = obj.program(prog).value().attach();
        REQUIRE_MESSAGE(l.has_error(), prog);
        MESSAGE(l.error().message);
        CHECK(contains(l.error().message, fmt::format("program '{}'", prog)));
        CHECK_MESSAGE(contains(l.error().message, needle), l.error().message);
    };
    expect("kprobe_no_target", features::kprobes() ? "attach_kprobe(" : "no kprobes");
    expect("uprobe_no_target", "attach_uprobe(");
    expect("usdt_no_target", "use attach_usdt(binary, provider, name)");
    expect("tracepoint_no_target", "attach_tracepoint(");
    expect("raw_tp_no_target", "attach_raw_tracepoint(");
    expect("on_cgroup_skb", "attach_cgroup(");
    expect("on_perf_event", "attach_perf_event(");
    expect("on_socket", "use attach_socket_filter(socket)");
    expect("on_tc", "attach_tcx(");
    expect("on_xdp", "attach_xdp(");
    if (!features::kprobes()) {
        expect("open_kprobe", "no kprobes");
        auto specific = obj.program("open_kprobe").value().attach_kprobe("do_sys_openat2");
        REQUIRE(specific.has_error());
        CHECK(contains(specific.error().message, "no kprobes"));
    }
}
