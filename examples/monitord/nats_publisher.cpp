#include "nats_publisher.hpp"

#if MONITORD_HAVE_NATS

#include "events.hpp"
#include "output.hpp"

#include "monitord_events.h"

#include <boost/asio/post.hpp>

#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace monitord {

namespace {

namespace asio = boost::asio;

struct message {
    std::string subject, data, id;
};

// Events taken per round; also the client's limit of unacknowledged publishes, which the sender
// never reaches, so js_PublishMsgAsync never stalls.
constexpr std::size_t batch_size = 1024;
// How long a round waits for JetStream's acknowledgements before resending what lacks one.
constexpr std::int64_t ack_wait_ms = 2000;
constexpr auto retry_pause = std::chrono::milliseconds(250);

std::string status_text(natsStatus s) {
    const char* last = nats_GetLastError(nullptr);
    return last && *last ? fmt::format("{} ({})", natsStatus_GetText(s), last) : natsStatus_GetText(s);
}

// The URLs as logged: user and password (nats://user:password@host) left out.
std::string without_credentials(std::string_view urls) {
    std::string out(urls);
    for (auto at = out.find('@'); at != std::string::npos; at = out.find('@', at)) {
        const auto scheme = out.rfind("//", at);
        const auto start = scheme == std::string::npos ? 0 : scheme + 2;
        out.replace(start, at - start, "***");
        at = start + 4;  // past "***@"
    }
    return out;
}

const char* kind_name(unsigned kind) {
    switch (kind) {
    case MONITORD_EXEC: return "exec";
    case MONITORD_OPEN: return "open";
    case MONITORD_CONNECT: return "connect";
    }
    return nullptr;
}

// Shared by the io_context's thread, the sender thread and the client's threads; each part says
// who may touch it.
struct shared {
    asio::any_io_executor io;
    nats_options opt;
    std::string shown_url;  // for logs
    std::string id_prefix;  // <host>-<start>-

    // The io_context's thread only.
    nats_metrics m;
    std::uint64_t sequence = 0;
    std::string last_error;

    // Under mu: the queue from the io_context to the sender, and the copies to send again.
    std::mutex mu;
    std::condition_variable cv;
    std::deque<message> queue;
    std::vector<message> retry;
    std::size_t in_flight = 0;
    bool stopping = false;

    // The sender thread only (and finish(), once it is joined).
    natsOptions* nopts = nullptr;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    std::size_t left_at_exit = 0;

    // Hands f to the io_context: the one way results leave the client's and the sender's threads.
    template <class F>
    void on_io(F f) {
        asio::post(io, std::move(f));
    }
    void log_on_io(std::string line) {
        on_io([line = std::move(line)] { log_line(line); });
    }
    // A problem, logged on the io_context unless it repeats the last one logged since the last
    // (re)connection: a server that stays away costs one line, not one per retry.
    void problem_on_io(std::shared_ptr<shared> self, std::string text) {
        on_io([self, text = std::move(text)] {
            if (text == self->last_error) return;
            self->last_error = text;
            log_line("NATS: " + text);
        });
    }
};

message copy_of(natsMsg* msg) {
    const auto size = static_cast<std::size_t>(natsMsg_GetDataLength(msg));
    message m{natsMsg_GetSubject(msg), std::string(natsMsg_GetData(msg), size), {}};
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) m.id = id;
    return m;
}

class publisher final : public nats_publisher {
public:
    explicit publisher(std::shared_ptr<shared> s) : s_(std::move(s)) {}
    ~publisher() override { finish(); }

    bpfco::result<void> connect();
    void publish(std::span<const std::byte> record) override;
    nats_metrics stats() const override;
    void finish() override;

private:
    void run();
    bool ensure_stream();
    std::vector<message> send(std::vector<message> batch, std::chrono::milliseconds ack_wait);

    std::shared_ptr<shared> s_;
    std::thread sender_;
    // What the client's callbacks get; deleted only once the library's threads are gone (finish).
    std::weak_ptr<shared>* closure_ = nullptr;
};

// The client's callbacks get a weak reference: one that runs while the library shuts down finds
// nothing to tell.
std::shared_ptr<shared> lock_closure(void* closure) { return static_cast<std::weak_ptr<shared>*>(closure)->lock(); }

void on_connected(natsConnection*, void* closure) {
    if (auto s = lock_closure(closure))
        s->on_io([s] {
            s->m.connected = true;
            log_line(fmt::format("NATS: connected to {}", s->shown_url));
        });
}

void on_disconnected(natsConnection*, void* closure) {
    if (auto s = lock_closure(closure))
        s->on_io([s] {
            if (!s->m.connected) return;
            s->m.connected = false;
            log_line("NATS: connection lost; reconnecting, events queue meanwhile");
        });
}

void on_reconnected(natsConnection*, void* closure) {
    if (auto s = lock_closure(closure)) {
        s->on_io([s] {
            s->m.connected = true;
            ++s->m.reconnects;
            s->last_error.clear();
            log_line("NATS: reconnected; sending what queued meanwhile");
        });
        s->cv.notify_all();
    }
}

// JetStream's answer to one publish, on the client's thread: a success goes to the io_context's
// counters, a failure back to the sender as a copy to send again.
void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    if (auto s = lock_closure(closure)) {
        if (pa) {
            s->on_io([s, duplicate = pa->Duplicate] { ++(duplicate ? s->m.duplicates : s->m.published); });
        } else if (pae) {
            const char* why = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
            s->problem_on_io(s, fmt::format("{}; resending", why));
            std::lock_guard lock(s->mu);
            s->retry.push_back(copy_of(msg));
            s->cv.notify_all();
        }
    }
    natsMsg_Destroy(msg);
}

bpfco::result<void> publisher::connect() {
    auto& s = *s_;
    closure_ = new std::weak_ptr<shared>(s_);
    natsStatus st = natsOptions_Create(&s.nopts);
    if (st == NATS_OK) st = natsOptions_SetURL(s.nopts, s.opt.url.c_str());
    if (st == NATS_OK) st = natsOptions_SetMaxReconnect(s.nopts, -1);
    if (st == NATS_OK) st = natsOptions_SetReconnectWait(s.nopts, 250);
    if (st == NATS_OK) st = natsOptions_SetRetryOnFailedConnect(s.nopts, true, on_connected, closure_);
    if (st == NATS_OK) st = natsOptions_SetDisconnectedCB(s.nopts, on_disconnected, closure_);
    if (st == NATS_OK) st = natsOptions_SetReconnectedCB(s.nopts, on_reconnected, closure_);
    if (st != NATS_OK) return bpfco::make_error(EINVAL, fmt::format("--nats {}: {}", s.shown_url, status_text(st)));
    st = natsConnection_Connect(&s.nc, s.nopts);
    if (st == NATS_OK) {
        s.m.connected = true;
        log_line(fmt::format("NATS: connected to {}", s.shown_url));
    } else if (st == NATS_NOT_YET_CONNECTED) {
        log_line(fmt::format("NATS: no server at {} yet; retrying, events queue meanwhile", s.shown_url));
    } else {
        return bpfco::make_error(EINVAL, fmt::format("--nats {}: {}", s.shown_url, status_text(st)));
    }
    if (!s.opt.stream.empty()) {
        jsOptions jo;
        jsOptions_Init(&jo);
        // Stream look-ups answer within this, or are tried again: a stop never waits longer.
        jo.Wait = flush_timeout.count();
        jo.PublishAsync.MaxPending = static_cast<std::int64_t>(batch_size);
        jo.PublishAsync.AckHandler = on_ack;
        jo.PublishAsync.AckHandlerClosure = closure_;
        if (st = natsConnection_JetStream(&s.js, s.nc, &jo); st != NATS_OK)
            return bpfco::make_error(EINVAL, fmt::format("--nats-stream {}: {}", s.opt.stream, status_text(st)));
    }
    sender_ = std::thread([this] { run(); });
    return bpfco::result<void>(boost::outcome_v2::success());
}

void publisher::publish(std::span<const std::byte> record) {
    auto& s = *s_;
    const auto seq = ++s.sequence;
    const char* kind = kind_name(event_kind(record));
    auto json = format_event(record, output_format::json);
    if (!kind || !json) return;  // the event reader counts malformed records
    {
        std::lock_guard lock(s.mu);
        if (!s.stopping && s.queue.size() < s.opt.queue) {
            s.queue.push_back({fmt::format("monitord.{}.{}", s.opt.host, kind), std::move(*json),
                               fmt::format("{}{}", s.id_prefix, seq)});
            if (s.queue.size() == 1) s.cv.notify_all();
            return;
        }
    }
    ++s.m.dropped_queue_full;
}

nats_metrics publisher::stats() const {
    auto m = s_->m;
    std::lock_guard lock(s_->mu);
    m.queued = s_->queue.size() + s_->retry.size() + s_->in_flight;
    return m;
}

// Until the stream is there (looked up, or made on file storage for monitord.>): false when
// stopped first.
bool publisher::ensure_stream() {
    auto& s = *s_;
    for (;;) {
        {
            std::unique_lock lock(s.mu);
            if (natsConnection_Status(s.nc) != NATS_CONN_STATUS_CONNECTED) {
                if (s.cv.wait_for(lock, retry_pause, [&] { return s.stopping; })) return false;
                continue;
            }
        }
        jsStreamInfo* si = nullptr;
        jsErrCode jerr{};
        natsStatus st = js_GetStreamInfo(&si, s.js, s.opt.stream.c_str(), nullptr, &jerr);
        std::string made;
        if (st == NATS_NOT_FOUND) {
            jsStreamConfig cfg;
            jsStreamConfig_Init(&cfg);
            const char* subjects[] = {"monitord.>"};
            cfg.Name = s.opt.stream.c_str();
            cfg.Subjects = subjects;
            cfg.SubjectsLen = 1;
            cfg.Storage = js_FileStorage;
            st = js_AddStream(&si, s.js, &cfg, nullptr, &jerr);
            made = " (made: file storage, subjects monitord.>)";
        }
        jsStreamInfo_Destroy(si);
        if (st == NATS_OK) {
            s.log_on_io(fmt::format("NATS: publishing into JetStream stream {}{}", s.opt.stream, made));
            return true;
        }
        s.problem_on_io(s_, fmt::format("stream {}: {}; trying again every second", s.opt.stream, status_text(st)));
        std::unique_lock lock(s.mu);
        if (s.cv.wait_for(lock, std::chrono::seconds(1), [&] { return s.stopping; })) return false;
    }
}

// Publishes a batch; returns what must be sent again (the client refused it, or JetStream did not
// acknowledge it in time; failed acknowledgements arrive through on_ack).
std::vector<message> publisher::send(std::vector<message> batch, std::chrono::milliseconds ack_wait) {
    auto& s = *s_;
    std::vector<message> again;
    std::size_t handed = 0;
    for (auto& m : batch) {
        natsMsg* msg = nullptr;
        const auto size = static_cast<int>(m.data.size());
        natsStatus st = natsMsg_Create(&msg, m.subject.c_str(), nullptr, m.data.data(), size);
        if (st == NATS_OK && s.js) st = natsMsgHeader_Set(msg, "Nats-Msg-Id", m.id.c_str());
        if (st == NATS_OK) st = s.js ? js_PublishMsgAsync(s.js, &msg, nullptr) : natsConnection_PublishMsg(s.nc, msg);
        natsMsg_Destroy(msg);
        if (st == NATS_OK) {
            ++handed;
        } else {
            s.problem_on_io(s_, status_text(st) + "; resending");
            again.push_back(std::move(m));
        }
    }
    if (!s.js) {
        s.on_io([self = s_, handed] { self->m.published += handed; });
        return again;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ack_wait.count();
    if (const natsStatus st = js_PublishAsyncComplete(s.js, &po); st != NATS_OK) {
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, s.js) == NATS_OK) {
            for (int i = 0; i < pending.Count; ++i) again.push_back(copy_of(pending.Msgs[i]));
            natsMsgList_Destroy(&pending);
        }
        s.problem_on_io(s_, fmt::format("acknowledgements from JetStream missing after {} ms ({}); resending",
                                        ack_wait.count(), natsStatus_GetText(st)));
    }
    return again;
}

void publisher::run() {
    auto& s = *s_;
    if (s.js && !ensure_stream()) return;
    std::unique_lock lock(s.mu);
    std::optional<std::chrono::steady_clock::time_point> deadline;  // once stopping: the flush's end
    for (;;) {
        s.cv.wait(lock, [&] { return s.stopping || !s.queue.empty() || !s.retry.empty(); });
        if (s.stopping && !deadline) deadline = std::chrono::steady_clock::now() + flush_timeout;
        if (s.queue.empty() && s.retry.empty()) break;
        if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
        if (natsConnection_Status(s.nc) != NATS_CONN_STATUS_CONNECTED) {
            // Publishing now would only pile up in the client's buffer.
            if (s.stopping) break;
            s.cv.wait_for(lock, retry_pause, [&] { return s.stopping; });
            continue;
        }
        std::vector<message> batch;
        batch.swap(s.retry);
        const std::size_t resent = batch.size();
        while (batch.size() < batch_size && !s.queue.empty()) {
            batch.push_back(std::move(s.queue.front()));
            s.queue.pop_front();
        }
        s.in_flight = batch.size();
        lock.unlock();
        if (resent) s.on_io([self = s_, resent] { self->m.resent += resent; });
        auto wait = std::chrono::milliseconds(ack_wait_ms);
        if (deadline)
            wait = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                               *deadline - std::chrono::steady_clock::now()));
        auto again = send(std::move(batch), wait);
        lock.lock();
        s.in_flight = 0;
        const bool failed = !again.empty() || !s.retry.empty();
        std::move(again.begin(), again.end(), std::back_inserter(s.retry));
        if (failed && !s.stopping) s.cv.wait_for(lock, retry_pause, [&] { return s.stopping; });
    }
    s.left_at_exit = s.queue.size() + s.retry.size();
    s.queue.clear();
    s.retry.clear();
}

void publisher::finish() {
    if (!sender_.joinable()) return;
    {
        std::lock_guard lock(s_->mu);
        s_->stopping = true;
    }
    s_->cv.notify_all();
    sender_.join();
    auto& s = *s_;
    s.m.dropped_at_exit += s.left_at_exit;
    // Core NATS: what the client still buffers goes out now, or not at all.
    if (!s.js) natsConnection_FlushTimeout(s.nc, flush_timeout.count());
    if (s.js) jsCtx_Destroy(s.js);
    natsConnection_Close(s.nc);
    natsConnection_Destroy(s.nc);
    natsOptions_Destroy(s.nopts);
    // Every client thread is gone after this, so none uses the closure any more.
    nats_CloseAndWait(1000);
    delete closure_;
    closure_ = nullptr;
    if (s.left_at_exit) log_line(fmt::format("NATS: {} events not published at exit", s.left_at_exit));
}

}  // namespace

bpfco::result<std::unique_ptr<nats_publisher>> nats_publisher::start(boost::asio::any_io_executor io,
                                                                     const nats_options& opt) {
    auto s = std::make_shared<shared>();
    s->io = std::move(io);
    s->opt = opt;
    s->shown_url = without_credentials(opt.url);
    const auto start = std::chrono::system_clock::now().time_since_epoch();
    s->id_prefix = fmt::format("{}-{}-", opt.host, std::chrono::duration_cast<std::chrono::nanoseconds>(start).count());
    auto p = std::make_unique<publisher>(std::move(s));
    // The client's threads and the sender are made here: signals stay with the io_context's thread.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    auto r = p->connect();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!r) return r.error();
    return std::unique_ptr<nats_publisher>(std::move(p));
}

}  // namespace monitord

#else

namespace monitord {

bpfco::result<std::unique_ptr<nats_publisher>> nats_publisher::start(boost::asio::any_io_executor,
                                                                     const nats_options&) {
    return bpfco::make_error(ENOTSUP, "--nats: monitord was built without NATS (install libnats-dev and rebuild)");
}

}  // namespace monitord

#endif
