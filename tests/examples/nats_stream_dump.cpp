// Reads a whole JetStream stream, for test_fleet_nats.py (Debian 12 packages no Python NATS client).
// Prints each message whose data contains one of the MATCH strings as a JSON line,
// {"seq":N,"subject":"...","id":"<Nats-Msg-Id>","event":<data>}, then a last line for all of
// them, {"messages":N,"without_id":N,"repeated_ids":N} (repeated: ids stored more than once).
//
// usage: nats_stream_dump URL STREAM [MATCH...]
// Exits 1 naming the failed step (connect, stream info, subscribe, a message missing for 10 s).
#include <nats/nats.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {
[[noreturn]] void fail(const char* step, natsStatus s) {
    std::fprintf(stderr, "nats_stream_dump: %s: %s\n", step, natsStatus_GetText(s));
    std::exit(1);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: nats_stream_dump URL STREAM [MATCH...]\n");
        return 2;
    }
    natsConnection* nc = nullptr;
    if (auto s = natsConnection_ConnectTo(&nc, argv[1]); s != NATS_OK) fail("connect", s);
    jsCtx* js = nullptr;
    if (auto s = natsConnection_JetStream(&js, nc, nullptr); s != NATS_OK) fail("JetStream context", s);
    jsStreamInfo* si = nullptr;
    if (auto s = js_GetStreamInfo(&si, js, argv[2], nullptr, nullptr); s != NATS_OK) fail("stream info", s);
    const auto last = si->State.LastSeq;
    const auto count = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    const std::vector<std::string_view> matches(argv + 3, argv + argc);
    std::unordered_set<std::string> ids;
    std::uint64_t messages = 0, without_id = 0, repeated = 0;
    natsSubscription* sub = nullptr;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = argv[2];
    so.Ordered = true;
    if (count > 0) {
        if (auto s = js_SubscribeSync(&sub, js, ">", nullptr, &so, nullptr); s != NATS_OK) fail("subscribe", s);
        for (std::uint64_t seq = 0; seq < last;) {
            natsMsg* msg = nullptr;
            if (auto s = natsSubscription_NextMsg(&msg, sub, 10000); s != NATS_OK) fail("next message", s);
            jsMsgMetaData* meta = nullptr;
            if (auto s = natsMsg_GetMetaData(&meta, msg); s != NATS_OK) fail("message metadata", s);
            seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
            const char* id = "";
            natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
            ++messages;
            if (!*id) ++without_id;
            else if (!ids.emplace(id).second) ++repeated;
            std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
            bool wanted = false;
            for (auto m : matches) wanted = wanted || data.find(m) != std::string::npos;
            if (wanted)
                std::printf("{\"seq\":%llu,\"subject\":\"%s\",\"id\":\"%s\",\"event\":%s}\n",
                            static_cast<unsigned long long>(seq), natsMsg_GetSubject(msg), id, data.c_str());
            natsMsg_Destroy(msg);
        }
        natsSubscription_Destroy(sub);
    }
    std::printf("{\"messages\":%llu,\"without_id\":%llu,\"repeated_ids\":%llu}\n",
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(without_id),
                static_cast<unsigned long long>(repeated));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return std::fflush(stdout) == 0 ? 0 : 1;
}
