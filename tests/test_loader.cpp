#include "support.hpp"

#include "syscall_count.bpf.skel.h"

#include <elf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

using namespace bpfco;
using bpfco::testing::elf_of;

namespace {
object load_syscall_count() {
    return object::load_memory("syscall_count", elf_of(syscall_count_bpf__elf_bytes)).value();
}

void set_filter_pid(const object& obj) {
    auto filter = obj.map("filter").value();
    std::uint32_t zero = 0, pid = static_cast<std::uint32_t>(::getpid());
    filter.insert_bytes(&zero, &pid, update_flags::any).value();
}

std::uint64_t count(const object& obj) {
    std::uint32_t zero = 0;
    std::uint64_t n = 0;
    CHECK(obj.map("counts").value().lookup_bytes(&zero, &n).value());
    return n;
}
}  // namespace

TEST_CASE("tracepoint counts the syscalls this test makes") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto obj = load_syscall_count();
    set_filter_pid(obj);
    auto link = obj.program("count_sys_enter").value().attach_tracepoint("raw_syscalls", "sys_enter").value();
    const std::uint64_t before = count(obj);
    constexpr int calls = 1000;
    for (int i = 0; i < calls; ++i) ::syscall(SYS_getppid);
    const std::uint64_t after = count(obj);
    // The map reads around the loop are syscalls too: a few more than the calls made.
    CHECK(after - before >= calls);
    CHECK(after - before < calls + 50);
    link.detach();
    const std::uint64_t detached = count(obj);
    for (int i = 0; i < 100; ++i) ::syscall(SYS_getppid);
    CHECK(count(obj) == detached);
}

TEST_CASE("raw tracepoint counts the syscalls this test makes") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_syscall_count();
    set_filter_pid(obj);
    auto link = obj.program("count_raw_sys_enter").value().attach_raw_tracepoint("sys_enter").value();
    const std::uint64_t before = count(obj);
    for (int i = 0; i < 500; ++i) ::syscall(SYS_getppid);
    CHECK(count(obj) - before >= 500);
}

TEST_CASE("unknown names are errors that list what exists") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_syscall_count();
    auto p = obj.program("nope");
    REQUIRE(p.has_error());
    MESSAGE(p.error().message);
    CHECK(p.error().code == std::errc::no_such_file_or_directory);
    CHECK(p.error().message.find("count_sys_enter") != std::string::npos);
    auto m = obj.map("nope");
    REQUIRE(m.has_error());
    MESSAGE(m.error().message);
    CHECK(m.error().message.find("counts") != std::string::npos);
}

TEST_CASE("missing tracepoint is an error naming it") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_syscall_count();
    auto l = obj.program("count_sys_enter").value().attach_tracepoint("no_such_category", "no_such_event");
    REQUIRE(l.has_error());
    MESSAGE(l.error().message);
    CHECK(l.error().message.find("no_such_category/no_such_event") != std::string::npos);
}

TEST_CASE("a BTF type referring to a type id that does not exist is refused before libbpf sees it") {
    // libbpf 1.1 dereferences the null that btf__type_by_id() returns for such an id (a SEGV
    // found by tests/fuzz/fuzz_object.cpp); open_memory checks every reference first.
    auto orig = elf_of(syscall_count_bpf__elf_bytes);
    std::vector<std::byte> elf(orig.begin(), orig.end());
    Elf64_Ehdr eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    auto shdr = [&](int i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        return sh;
    };
    const auto names = shdr(eh.e_shstrndx);
    bool patched = false;
    for (int i = 0; i < eh.e_shnum && !patched; ++i) {
        const auto sh = shdr(i);
        if (std::strcmp(reinterpret_cast<const char*>(elf.data() + names.sh_offset + sh.sh_name), ".BTF") != 0) continue;
        btf_header hdr;
        std::memcpy(&hdr, elf.data() + sh.sh_offset, sizeof hdr);
        // The first type: struct btf_type { name_off; info; size/type; }. Point a PTR, TYPEDEF,
        // CONST, VOLATILE, FUNC or VAR at type 0x7fffff; otherwise skip (the object has one).
        std::byte* t = elf.data() + sh.sh_offset + hdr.hdr_len + hdr.type_off;
        std::uint32_t info;
        std::memcpy(&info, t + 4, 4);
        const auto kind = (info >> 24) & 0x1f;
        if (kind == BTF_KIND_PTR || kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_CONST || kind == BTF_KIND_VOLATILE ||
            kind == BTF_KIND_FUNC || kind == BTF_KIND_VAR) {
            const std::uint32_t dangling = 0x7fffff;
            std::memcpy(t + 8, &dangling, 4);
            patched = true;
        }
    }
    REQUIRE(patched);
    auto r = object::open_memory("dangling_btf", elf);
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    // Refused, naming the object and its BTF; the words are libbpf's on some versions (1.4 refuses
    // the section itself) and ours on others (1.1 would crash, so we check first).
    CHECK(r.error().message.find("dangling_btf") != std::string::npos);
    CHECK(r.error().message.find("BTF") != std::string::npos);
    // The unpatched object still opens.
    CHECK(object::open_memory("syscall_count", orig).has_value());
}

TEST_CASE("a symbol whose name lies outside its string table is refused before libbpf sees it") {
    // libbpf 1.1 strcmp()s the null its symbol-name lookup returns for such a name (a SEGV found
    // by tests/fuzz/fuzz_object.cpp; the input is in tests/fuzz/corpus/object/).
    auto orig = elf_of(syscall_count_bpf__elf_bytes);
    std::vector<std::byte> elf(orig.begin(), orig.end());
    Elf64_Ehdr eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    bool patched = false;
    for (int i = 0; i < eh.e_shnum && !patched; ++i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_SYMTAB || sh.sh_size < 2 * sizeof(Elf64_Sym)) continue;
        const std::uint32_t outside = 0x7fffffff;  // symbol 1's st_name
        std::memcpy(elf.data() + sh.sh_offset + sizeof(Elf64_Sym), &outside, sizeof outside);
        patched = true;
    }
    REQUIRE(patched);
    auto r = object::open_memory("bad_symbol", elf);
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().message.find("symbol 1 has a name outside its string table") != std::string::npos);
}

TEST_CASE("corrupt and truncated objects are errors, not crashes") {
    std::vector<std::byte> junk(4096);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = std::byte(i * 131 + 7);
    auto r = object::open_memory("junk", junk);
    REQUIRE(r.has_error());
    MESSAGE(r.error().message);
    CHECK(r.error().message.find("junk") != std::string::npos);

    auto elf = elf_of(syscall_count_bpf__elf_bytes);
    for (std::size_t cut : {std::size_t(0), std::size_t(16), std::size_t(64), elf.size() / 3, elf.size() / 2, elf.size() - 8}) {
        auto t = object::load_memory("truncated", elf.first(cut));
        CHECK_MESSAGE(t.has_error(), "cut at ", cut);
        if (cut == elf.size() / 2 && t.has_error()) MESSAGE(t.error().message);
    }

    auto f = object::open_file("/nonexistent/prog.bpf.o");
    REQUIRE(f.has_error());
    MESSAGE(f.error().message);
    CHECK(f.error().message.find("/nonexistent/prog.bpf.o") != std::string::npos);
}

TEST_CASE("an object file loads like the same bytes in memory; a truncated file names its path") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto elf = elf_of(syscall_count_bpf__elf_bytes);
    const std::string path = "/tmp/bpfco_loader_file_" + std::to_string(::getpid()) + ".bpf.o";
    auto write = [&](std::span<const std::byte> bytes) {
        FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
        std::fclose(f);
    };
    write(elf);
    {
        auto obj = object::load_file(path).value();
        // As libbpf names it: the base name cut at the first '.' (and to the kernel's name length).
        CHECK(("bpfco_loader_file_" + std::to_string(::getpid())).starts_with(obj.name()));
        CHECK(obj.name().find('.') == std::string::npos);
        set_filter_pid(obj);
        auto link = obj.program("count_sys_enter").value().attach_tracepoint("raw_syscalls", "sys_enter").value();
        const std::uint64_t before = count(obj);
        for (int i = 0; i < 100; ++i) ::syscall(SYS_getppid);
        CHECK(count(obj) - before >= 100);
    }
    write(elf.first(elf.size() / 2));
    auto t = object::open_file(path);
    REQUIRE(t.has_error());
    MESSAGE(t.error().message);
    CHECK(t.error().message.find(path) != std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("load errors: a file object names its path, a map that cannot be created heads the message") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    auto elf = elf_of(syscall_count_bpf__elf_bytes);
    const std::string path = "/tmp/bpfco_loader_map_" + std::to_string(::getpid()) + ".bpf.o";
    FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    REQUIRE(std::fwrite(elf.data(), 1, elf.size(), f) == elf.size());
    std::fclose(f);
    auto obj = object::open_file(path).value();
    std::remove(path.c_str());
    obj.set_max_entries("counts", 0).value();  // an array of no entries: the kernel refuses it
    auto r = obj.load();
    REQUIRE(!r);
    MESSAGE(r.error().message);
    CHECK(r.error().message.starts_with(fmt::format("object '{}' (file '{}'): map 'counts': cannot create it: ",
                                                    obj.name(), path)));
}

TEST_CASE("bytes from the object are escaped in messages") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    // The object's name is the caller's here, but reaches messages the way names from an ELF do.
    auto obj = object::open_memory("bad\x01\x9bname", elf_of(syscall_count_bpf__elf_bytes)).value();
    obj.set_max_entries("counts", 0).value();
    auto r = obj.load();
    REQUIRE(!r);
    MESSAGE(r.error().message);
    const auto& m = r.error().message;
    CHECK(m.starts_with("object 'bad\\x01\\x9bname'"));
    CHECK(std::none_of(m.begin(), m.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\n') || u >= 0x80;
    }));
}

TEST_CASE("set_autoload after load is an error naming the program") {
    BPFCO_REQUIRE_ROOT();
    auto obj = load_syscall_count();
    auto r = obj.program("count_sys_enter").value().set_autoload(false);
    REQUIRE(!r);
    CHECK(r.error().code == std::errc::device_or_resource_busy);
    CHECK(r.error().message.starts_with("program 'count_sys_enter': set autoload: "));
    CHECK(r.error().message.find("before object::load()") != std::string::npos);
}

TEST_CASE("a pinned map that does not fit names the pin, both definitions and the field") {
    BPFCO_REQUIRE_ROOT();
    testing::fd_leak_check fds;
    const std::string pin = "/sys/fs/bpf/bpfco_loader_pinfit_" + std::to_string(::getpid());
    {
        auto first = object::open_memory("syscall_count", elf_of(syscall_count_bpf__elf_bytes)).value();
        first.set_pin_path("counts", pin).value();  // run 1: creates and pins
        first.load().value();
    }
    auto same = object::open_memory("syscall_count", elf_of(syscall_count_bpf__elf_bytes)).value();
    same.set_pin_path("counts", pin).value();  // run 2: reuses
    CHECK(same.load());
    auto other = object::open_memory("syscall_count", elf_of(syscall_count_bpf__elf_bytes)).value();
    other.set_pin_path("counts", pin).value();
    other.set_max_entries("counts", 4).value();
    auto r = other.load();
    ::unlink(pin.c_str());
    REQUIRE(!r);
    MESSAGE(r.error().message);
    CHECK(r.error().message.starts_with(fmt::format(
        "object 'syscall_count': map 'counts': the map pinned at '{}' does not fit: max entries differs (pinned: 1, "
        "object: 4)\n  pinned: type array, key size 4, value size 8, max entries 1, flags 0x0\n  object: ",
        pin)));
}

TEST_CASE("everything a test made is gone from the kernel after destruction") {
    BPFCO_REQUIRE_ROOT();
    auto before = testing::list_kernel_ids();
    testing::kernel_ids made;
    {
        auto obj = load_syscall_count();
        set_filter_pid(obj);
        auto link = obj.program("count_sys_enter").value().attach_tracepoint("raw_syscalls", "sys_enter").value();
        made = testing::new_ids(before, testing::list_kernel_ids());
        CHECK(made.progs.size() >= 2);
        CHECK(made.maps.size() >= 2);
        CHECK(made.links.size() >= 1);
    }
    auto still = testing::wait_gone(made);
    CHECK(still.progs.empty());
    CHECK(still.maps.empty());
    CHECK(still.links.empty());
}
