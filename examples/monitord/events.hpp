// Turning monitord's ring-buffer records into log lines or JSON lines.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace monitord {

enum class output_format { log, json };

/// One line (without newline) for a record, or nullopt for a record too short for its kind or of
/// an unknown kind (the caller counts those: nothing is dropped silently).
std::optional<std::string> format_event(std::span<const std::byte> record, output_format format);

/// The record's kind (MONITORD_EXEC, ...), 0 when it is shorter than a kind field.
unsigned event_kind(std::span<const std::byte> record);

}  // namespace monitord
