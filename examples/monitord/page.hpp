// GET /: a live view of the event stream, one self-contained HTML page (no external scripts,
// styles or fonts) that follows GET /events with EventSource. The page's own query string is
// passed on to /events, so /?kind=exec shows only execs.
#pragma once

#include <string_view>

namespace monitord {

/// The page, HTML with its script and style inline.
std::string_view event_page();

}  // namespace monitord
