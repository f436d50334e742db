// What monitord pins under --pin-dir, how it tells its own pins from anyone else's, and removing
// only its own (--detach).
//
// bpffs holds pinned objects and directories only (creating a regular file there is refused with
// EPERM), so there is no manifest file: a pin is monitord's when it has one of the names monitord
// pins and is the object monitord pins under that name (a map of the skeleton's name and layout, an
// XDP or tcx link running monitord's program). A directory monitord created holds a marker map
// pinned as `created_by_monitord`; only such a directory is removed, and only once empty.
#pragma once

#include <bpfco/bpfco.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace monitord {

/// The maps that carry state across a restart (the counters and the blocklist); the process-event
/// maps and links are per run and never pinned.
inline constexpr std::array<const char*, 6> pinned_maps{"packets",     "counters",   "blocked_v4",
                                                        "blocked_v6", "lifetime_us", "event_drops"};
/// Where the XDP and TC egress links of an interface are pinned.
std::string xdp_pin(const std::string& dir, const std::string& interface);
std::string tc_pin(const std::string& dir, const std::string& interface);

/// A usage check of --pin-dir before anything is changed: DIR must be a directory on bpffs, or
/// missing with a parent directory on bpffs. Returns a message naming the path and the reason
/// (with how to mount bpffs, and what `ip netns exec` does to /sys when that is the cause), empty
/// when DIR is usable.
std::string pin_dir_problem(const std::string& dir);

/// Creates DIR (mode 0700) when missing and marks it as made by monitord. Returns an error
/// message, empty on success.
std::string make_pin_dir(const std::string& dir);

/// Why the map pinned at `path` is not the map `name` of `obj` (not loaded: only its layout is
/// read), for messages; empty when it is.
std::string map_mismatch(bpfco::object& obj, const char* name, const bpfco::map_info& have);

/// --pin-dir DIR --detach: unpins monitord's pins in DIR (unpinning a link's last reference
/// detaches it), leaves every other entry in place with a warning naming it, and removes DIR only
/// when monitord created it and it is then empty; logs what it did. Returns the exit status: 2
/// when DIR is not usable (pin_dir_problem), 1 when an unpin fails, else 0.
int detach_pinned(bpfco::object& obj, const std::string& dir);

}  // namespace monitord
