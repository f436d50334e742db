#include <bpfco/loader/global.hpp>
#include <bpfco/loader/object.hpp>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace bpfco {

namespace detail {

result<void> check_writable(const global_place& p) {
    if (p.read_only)
        return failure(EPERM, fmt::format("global '{}' ({}): read-only after load (the kernel froze the section); "
                                          "set it before object::load()", p.name, p.section));
    // libbpf keeps the initial image apart from the kernel map; a write there after load would
    // be lost, so a handle from before load refuses it.
    if (p.image_of && bpf_map__fd(static_cast<const bpf_map*>(p.image_of)) >= 0)
        return failure(ESTALE, fmt::format("global '{}' ({}): this handle was taken before load and shows the "
                                           "initial image; take a new one with object::global() after load",
                                           p.name, p.section));
    return boost::outcome_v2::success();
}

namespace {
struct found_var {
    std::string section;
    std::uint32_t offset = 0, size = 0, type = 0;
};

const btf* object_btf(bpf_object* obj, const std::string& obj_name, result<void>& err) {
    const btf* b = bpf_object__btf(obj);
    if (!b) err = failure(ENOENT, fmt::format("object '{}': has no BTF (build the BPF C with -g)", obj_name));
    return b;
}
}  // namespace

result<global_place> find_global(bpf_object* obj, const std::string& obj_name, bool loaded, std::string_view var,
                                 std::size_t size, const cpp_layout* layout) {
    result<void> err = boost::outcome_v2::success();
    const btf* b = object_btf(obj, obj_name, err);
    if (!b) return err.error();
    std::optional<found_var> hit;
    std::map<std::string, std::vector<std::string>> all;  // section -> variables, for the message
    for (std::uint32_t id = 1; id < btf__type_cnt(b) && !hit; ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        if (!btf_is_datasec(t)) continue;
        const std::string sec = btf__name_by_offset(b, t->name_off);
        const btf_var_secinfo* vs = btf_var_secinfos(t);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
            const btf_type* v = btf__type_by_id(b, vs[i].type);
            if (!v || !btf_is_var(v)) continue;
            const std::string vname = btf__name_by_offset(b, v->name_off);
            if (vname == var) {
                hit = found_var{sec, vs[i].offset, vs[i].size, v->type};
                break;
            }
            all[sec].push_back(vname);
        }
    }
    if (!hit) {
        std::string list;
        for (auto& [sec, names] : all) {
            list += fmt::format("{}{}:", list.empty() ? "" : "; ", sec);
            for (auto& n : names) list += " " + n;
        }
        return failure(ENOENT, fmt::format("object '{}': no global variable named '{}' (globals: {})", obj_name, var,
                                           list.empty() ? "none" : list));
    }
    const std::string what = fmt::format("object '{}': global '{}' ({})", obj_name, var, hit->section);
    if (hit->size != size)
        return failure(EINVAL, fmt::format("{}: size mismatch: the variable is {} bytes, the C++ type {} bytes", what,
                                           hit->size, size));
    if (layout) { BPFCO_TRY(check_layout(b, hit->type, *layout, what)); }
    bpf_map* m = bpf_object__find_map_by_name(obj, hit->section.c_str());
    if (!m) return failure(ENOENT, fmt::format("{}: the section has no map", what));
    global_place p;
    p.name = std::string(var);
    p.section = hit->section;
    const bool rodata = hit->section.starts_with(".rodata") || hit->section == ".kconfig";
    if (!loaded) {
        std::size_t image = 0;
        // libbpf 1.1 returns the image as const, but it is the writable buffer skeletons write
        // their .rodata/.data through before load (later libbpf returns it non-const).
        auto* data = static_cast<std::byte*>(const_cast<void*>(bpf_map__initial_value(m, &image)));
        if (!data || hit->offset + size > image)
            return failure(EINVAL, fmt::format("{}: the section has no initial image", what));
        p.data = data + hit->offset;
        p.image_of = m;
        return p;
    }
    // Our own mapping of the map: libbpf 1.1 maps it only for skeletons it loads itself.
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t len = (bpf_map__value_size(m) + page - 1) / page * page;
    void* at = ::mmap(nullptr, len, PROT_READ | (rodata ? 0 : PROT_WRITE), MAP_SHARED, bpf_map__fd(m), 0);
    if (at == MAP_FAILED) {
        const int e = errno;
        return failure(e, fmt::format("{}: cannot map the section's map: {}", what, std::strerror(e)));
    }
    p.mapping = std::shared_ptr<void>(at, [len](void* a) { ::munmap(a, len); });
    p.data = static_cast<std::byte*>(at) + hit->offset;
    p.read_only = rodata;
    return p;
}

result<void> check_struct(bpf_object* obj, const std::string& obj_name, std::string_view struct_name,
                          const cpp_layout& layout, std::string_view where) {
    result<void> err = boost::outcome_v2::success();
    const btf* b = object_btf(obj, obj_name, err);
    if (!b) return err;
    const std::string what = fmt::format("object '{}'{}{}", obj_name, where.empty() ? "" : ": ", where);
    BPFCO_TRY(auto id, find_struct(b, struct_name, what));
    return check_layout(b, id, layout, what);
}

}  // namespace detail

result<detail::global_place> object::find_global(std::string_view var, std::size_t size,
                                                 const detail::cpp_layout* layout) const {
    return detail::find_global(obj_, name_, loaded_, var, size, layout);
}

result<void> object::check_struct(std::string_view struct_name, const detail::cpp_layout& layout,
                                  std::string_view where) const {
    return detail::check_struct(obj_, name_, struct_name, layout, where);
}

}  // namespace bpfco
