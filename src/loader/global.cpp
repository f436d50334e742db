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
        return failure(EPERM, fmt::format("{}: global '{}' ({}): read-only after load (the kernel froze "
                                          "the section); set it before object::load()",
                                          p.object, p.name, p.section));
    // libbpf keeps the initial image apart from the kernel map; a write there after load would
    // be lost, so a handle from before load refuses it.
    if (p.image_of && bpf_map__fd(static_cast<const bpf_map*>(p.image_of)) >= 0)
        return failure(ESTALE, fmt::format("{}: global '{}' ({}): this handle was taken before load and "
                                           "shows the initial image; take a new one with object::global() after load",
                                           p.object, p.name, p.section));
    return boost::outcome_v2::success();
}

namespace {
struct found_var {
    std::string section;
    std::uint32_t offset = 0, size = 0, type = 0;
};

// What the misspelt-name list offers: the program's own variables, not bpfco's markers
// (BPFCO_RECORD_TYPE, BPFCO_MAP_RECORD) nor the map and license sections.
bool user_variable(std::string_view section, std::string_view name) {
    const bool data = section.starts_with(".rodata") || section.starts_with(".data") || section.starts_with(".bss");
    return data && !name.starts_with("bpfco_record_") && !name.starts_with("bpfco_map_record__");
}

const btf* object_btf(bpf_object* obj, const std::string& obj_label, result<void>& err) {
    const btf* b = bpf_object__btf(obj);
    if (!b) err = failure(ENOENT, fmt::format("{}: has no BTF (build the BPF C with -g)", obj_label));
    return b;
}
}  // namespace

result<global_place> find_global(bpf_object* obj, const std::string& obj_label, bool loaded, std::string_view var,
                                 const cpp_type& type, const cpp_layout* layout) {
    const std::size_t size = type.size;
    result<void> err = boost::outcome_v2::success();
    const btf* b = object_btf(obj, obj_label, err);
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
            if (user_variable(sec, vname)) all[sec].push_back(vname);
        }
    }
    if (!hit) {
        std::string list;
        for (auto& [sec, names] : all) {
            list += fmt::format("{}{}:", list.empty() ? "" : "; ", sec);
            for (auto& n : names) list += " " + n;
        }
        return failure(ENOENT, fmt::format("{}: no global variable named '{}' (globals: {})", obj_label, var,
                                           list.empty() ? "none" : list));
    }
    const std::string what = fmt::format("{}: global '{}' ({})", obj_label, var, hit->section);
    BPFCO_TRY(check_type(b, hit->type, type, what));
    if (layout) { BPFCO_TRY(check_layout(b, hit->type, *layout, what)); }
    bpf_map* m = bpf_object__find_map_by_name(obj, hit->section.c_str());
    if (!m) return failure(ENOENT, fmt::format("{}: the section has no map", what));
    global_place p;
    p.object = obj_label;
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

result<void> check_struct(bpf_object* obj, const std::string& obj_label, std::string_view struct_name,
                          const cpp_layout& layout, std::string_view where) {
    result<void> err = boost::outcome_v2::success();
    const btf* b = object_btf(obj, obj_label, err);
    if (!b) return err;
    const std::string what = fmt::format("{}{}{}", obj_label, where.empty() ? "" : ": ", where);
    BPFCO_TRY(auto id, find_struct(b, struct_name, what));
    return check_layout(b, id, layout, what);
}

result<void> check_records(bpf_object* obj, const std::string& obj_label, std::string_view map_name,
                           std::string_view struct_name, const cpp_layout& layout) {
    result<void> err = boost::outcome_v2::success();
    const btf* b = object_btf(obj, obj_label, err);
    if (!b) return err;
    BPFCO_TRY(const std::uint32_t declared, map_record_struct(b, obj_label, map_name));
    if (!declared)
        return check_struct(obj, obj_label, struct_name, layout, fmt::format("records of map '{}'", map_name));
    return check_layout(b, declared, layout,
                        fmt::format("{}: records of map '{}' (declared by BPFCO_MAP_RECORD)", obj_label,
                                    map_name));
}

}  // namespace detail

result<void> object::check_records(std::string_view map_name, std::string_view struct_name,
                                   const detail::cpp_layout& layout) const {
    BPFCO_TRY(check(fmt::format("records of map '{}'", map_name)));
    return detail::check_records(obj_, label_, map_name, struct_name, layout);
}

result<detail::global_place> object::find_global(std::string_view var, const detail::cpp_type& type,
                                                 const detail::cpp_layout* layout) const {
    BPFCO_TRY(check(fmt::format("global '{}'", var)));
    return detail::find_global(obj_, label_, loaded_, var, type, layout);
}

result<void> object::check_struct(std::string_view struct_name, const detail::cpp_layout& layout,
                                  std::string_view where) const {
    return detail::check_struct(obj_, label_, struct_name, layout, where);
}

}  // namespace bpfco
