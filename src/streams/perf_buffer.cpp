#include <bpfco/streams/perf_buffer.hpp>
#include <bpfco/attach/perf_event.hpp>
#include <bpfco/cpus.hpp>
#include <bpfco/streams/ring_records.hpp>

#include "streams/async_stream.hpp"

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace asio = boost::asio;

namespace bpfco {
namespace detail {

class perf_state final : public async_stream<perf_state, perf_batch> {
public:
    static constexpr std::string_view what = "perf buffer";

    perf_state(const asio::any_io_executor& ex, map m, const perf_buffer_options& o)
        : async_stream(ex, o.poll_interval), map_(std::move(m)), mismatches_("perf buffer '" + map_.name() + "'", map_.record_declaration()),
          options_(o) {}

    ~perf_state() {
        for (auto& r : rings_)
            if (r.meta) ::munmap(r.meta, page_size_ + ring_size_);
    }

    result<void> open() {
        static constexpr map_type perf_array[] = {map_type::perf_event_array};
        BPFCO_TRY(map_.check(perf_array, sizeof(std::uint32_t), sizeof(std::uint32_t)));
        const std::size_t pages = options_.page_count;
        if (pages == 0 || (pages & (pages - 1)) != 0)
            return failure(EINVAL, fmt::format("perf buffer '{}': page_count {} is not a power of two",
                                               map_.name(), pages));
        page_size_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        // The batch iterator keeps positions in 32 bits.
        if (pages > (std::size_t{1} << 31) / page_size_)
            return failure(EINVAL, fmt::format("perf buffer '{}': page_count {} makes a ring larger than 2 GiB",
                                               map_.name(), pages));
        ring_size_ = pages * page_size_;

        auto cpus = online_cpus();
        if (!cpus) return failure(cpus.error().code.value(), "perf buffer '" + map_.name() + "': " + cpus.error().message);

        int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) return failure(map_.make_error(errno, "epoll_create1"));
        BPFCO_TRY(assign_wake_fd(ep, "perf buffer '" + map_.name() + "'"));

        // Slots exist for every possible CPU (the map's max_entries); offline ones stay empty.
        rings_.reserve(cpus.value().size());
        for (const int cpu : cpus.value()) {
            if (static_cast<std::uint32_t>(cpu) >= map_.info().max_entries) continue;
            BPFCO_TRY(open_ring(static_cast<std::uint32_t>(cpu)));
        }
        return boost::outcome_v2::success();
    }

    // A lazy batch over every ring's records below its data_head, possibly empty. Only proves
    // that one item is there: the batch's iterator decodes the rest in place.
    result<perf_batch> take() {
        // The previous batch's ends must be fixed first: this one starts there on every ring.
        if (open_) {
            open_->resolve_all();
            open_ = nullptr;
        }
        if (mismatches_.refused()) [[unlikely]]
            return failure(EBADMSG, mismatches_.refusal());
        std::vector<perf_range> ranges = std::move(spare_);
        ranges.clear();
        const std::size_t budget = options_.per_cpu_budget != 0 ? options_.per_cpu_budget : SIZE_MAX;
        bool any = false;
        for (std::size_t k = 0; k < rings_.size(); ++k) {
            const std::size_t i = (next_ + k) % rings_.size();
            auto& r = rings_[i];
            // acquire: pairs with the kernel's smp_store_release of data_head in
            // perf_output_put_handle(), so the record bytes below head are visible.
            const std::uint64_t head = std::atomic_ref<__u64>(r.meta->data_head).load(std::memory_order_acquire);
            if (head == r.read_tail) continue;
            if (head - r.read_tail > r.data.size()) return corrupt(r, std::move(ranges));
            perf_range range;
            range.ring = static_cast<std::uint32_t>(i);
            range.cpu = r.cpu;
            range.data = r.data;
            range.scratch = &r.scratch;
            range.first = r.read_tail;
            range.head = head;
            range.cap = budget;
            if (!any) {
                // Proves an item is there, skipping record types a BPF output event does not make.
                while (range.first != head) {
                    const auto d = ring_records::perf_decode(r.data, range.first, head, r.scratch);
                    if (d.kind == ring_records::perf_kind::corrupt) return corrupt(r, std::move(ranges));
                    if (d.kind != ring_records::perf_kind::other) {
                        any = true;
                        break;
                    }
                    range.first = d.next;
                }
                if (!any) {
                    range.resolved = true;  // nothing but skipped records: commit them
                    range.end = r.read_tail = range.first;
                }
            }
            ranges.push_back(range);
        }
        next_ = (next_ + 1) % std::max<std::size_t>(rings_.size(), 1);
        perf_batch b(shared_from_this(), std::move(ranges), !any, &mismatches_);
        if (options_.max_records != 0) {
            // Bounding the total needs each ring's part walked now, in order.
            std::size_t left = options_.max_records;
            for (auto& range : b.ranges_) {
                range.cap = std::min(range.cap, left);
                b.resolve(range);
                left -= range.count;
            }
        }
        open_ = &b;  // followed through moves by batch_moved(), cleared by release
        return b;
    }

    bool may_have_records() const noexcept {
        if (open_) return true;  // the previous batch's ends are not fixed yet
        if (mismatches_.refused()) return true;  // take() fails with the refusal
        for (auto& r : rings_)
            if (std::atomic_ref<__u64>(r.meta->data_head).load(std::memory_order_acquire) != r.read_tail) return true;
        return false;
    }

    void range_ended(const perf_range& range, std::uint64_t end) noexcept { rings_[range.ring].read_tail = end; }

    void count_lost(const perf_range& range, std::uint64_t pos, std::uint64_t n) noexcept {
        auto& r = rings_[range.ring];
        if (pos < r.lost_counted_to) return;  // decoded before (a second iteration, or resolve)
        r.lost_counted_to = pos + 1;
        r.lost += n;
    }

    void batch_moved(const perf_batch* from, perf_batch* to) noexcept {
        if (open_ == from) open_ = to;
    }

    // Hands each ring's space up to the batch's end back to the kernel.
    void release_space(const perf_batch& b, std::vector<perf_range>&& ranges) noexcept {
        if (open_ == &b) open_ = nullptr;
        for (auto& range : ranges) {
            auto& r = rings_[range.ring];
            if (range.end <= r.committed_tail) continue;
            r.committed_tail = range.end;
            // release: our reads of the records happen before the kernel may overwrite them;
            // pairs with the kernel's READ_ONCE(data_tail) + smp_mb() in perf_output_begin().
            std::atomic_ref<__u64>(r.meta->data_tail).store(range.end, std::memory_order_release);
        }
        ranges.clear();
        spare_ = std::move(ranges);  // keeps the capacity for the next batch
    }

    std::uint64_t lost() const noexcept {
        std::uint64_t n = 0;
        for (auto& r : rings_) n += r.lost;
        return n;
    }
    std::uint64_t lost(std::uint32_t cpu) const noexcept {
        for (auto& r : rings_)
            if (r.cpu == cpu) return r.lost;
        return 0;
    }
    std::vector<std::uint32_t> cpus() const {
        std::vector<std::uint32_t> out;
        for (auto& r : rings_) out.push_back(r.cpu);
        return out;
    }
    std::size_t ring_size() const noexcept { return ring_size_; }
    std::uint64_t type_mismatches() const noexcept { return mismatches_.count(); }
    std::string record_type_refusal() const { return mismatches_.refusal(); }

private:
    struct cpu_ring {
        std::uint32_t cpu = 0;
        unique_fd fd;
        perf_event_mmap_page* meta = nullptr;
        std::span<const std::byte> data;
        std::uint64_t read_tail = 0;       // handed out to batches up to here (when no batch is open)
        std::uint64_t lost_counted_to = 0; // lost records before here are counted
        std::uint64_t committed_tail = 0;  // data_tail as last stored
        std::vector<std::byte> scratch;    // the record that wrapped the ring end
        std::uint64_t lost = 0;
    };

    result<void> open_ring(std::uint32_t cpu) {
        perf_event_attr attr{};
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_BPF_OUTPUT;
        attr.sample_type = PERF_SAMPLE_RAW;
        attr.sample_period = 1;
        attr.wakeup_events = options_.wakeup_events;
        int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, static_cast<int>(cpu), -1,
                                            PERF_FLAG_FD_CLOEXEC));
        if (fd < 0) return failure(map_.make_error(errno, fmt::format("perf_event_open on CPU {}", cpu)));
        cpu_ring r;
        r.cpu = cpu;
        r.fd = unique_fd(fd);
        void* m = ::mmap(nullptr, page_size_ + ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            return failure(map_.make_error(errno, fmt::format("mmap of {} bytes for CPU {} (lower page_count, or "
                                                              "raise the perf_event_mlock_kb limit)",
                                                              page_size_ + ring_size_, cpu)));
        r.meta = static_cast<perf_event_mmap_page*>(m);
        r.data = {static_cast<const std::byte*>(m) + page_size_, ring_size_};
        // relaxed: a fresh ring; only we write data_tail.
        r.read_tail = r.committed_tail = std::atomic_ref<__u64>(r.meta->data_tail).load(std::memory_order_relaxed);
        // Owned by rings_ from here on, so every early return below unmaps it.
        rings_.push_back(std::move(r));
        auto& ring = rings_.back();
        if (::ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0)
            return failure(map_.make_error(errno, fmt::format("enabling the perf event on CPU {}", cpu)));
        epoll_event ev{};
        // Level-triggered, and its ready list is never drained here: a perf event's wake-up wakes
        // the reactor's watch on this epoll fd even when the event is on the ready list already,
        // and the reactor's look at this fd drops entries no longer ready (eventpoll.c:
        // ep_poll_callback, __ep_eventpoll_poll). Draining it with an epoll_wait of ours would cost
        // a syscall per wake-up that libbpf's reader does not make.
        ev.events = EPOLLIN;
        ev.data.u32 = cpu;
        if (::epoll_ctl(wake_fd(), EPOLL_CTL_ADD, fd, &ev) != 0)
            return failure(map_.make_error(errno, "epoll_ctl"));
        if (bpf_map_update_elem(map_.fd(), &ring.cpu, &fd, BPF_ANY) != 0)
            return failure(map_.make_error(errno, fmt::format("storing the perf event of CPU {} in the map", cpu)));
        return boost::outcome_v2::success();
    }

    map map_;
    type_mismatch_counter mismatches_;
    perf_buffer_options options_;
    std::size_t page_size_ = 0;
    std::size_t ring_size_ = 0;
    std::vector<cpu_ring> rings_;
    std::size_t next_ = 0;  // the ring the next batch starts at
    std::vector<perf_range> spare_;
    perf_batch* open_ = nullptr;  // the batch handed out last, until it is released or the next take

    result<perf_batch> corrupt(const cpu_ring& r, std::vector<perf_range>&& ranges) {
        ranges.clear();
        spare_ = std::move(ranges);
        return failure(EBADMSG, fmt::format("perf buffer '{}': CPU {}: a record size that cannot be: the ring "
                                            "cannot be read further", map_.name(), r.cpu));
    }
};

void perf_range_ended(perf_state& state, const perf_range& range, std::uint64_t end) noexcept {
    state.range_ended(range, end);
}
void count_perf_lost(perf_state& state, const perf_range& range, std::uint64_t pos, std::uint64_t lost) noexcept {
    state.count_lost(range, pos, lost);
}
void perf_batch_moved(perf_state& state, const perf_batch* from, perf_batch* to) noexcept {
    state.batch_moved(from, to);
}

template class io_object<perf_state>;
template class event_stream<perf_state, perf_batch>;

}  // namespace detail

void perf_batch::release() noexcept {
    if (state_) {
        resolve_all();
        state_->release_space(*this, std::move(ranges_));
        state_.reset();
    }
}

result<perf_buffer> perf_buffer::create(const executor_type& ex, map perf_map, perf_buffer_options options) {
    auto s = std::make_shared<detail::perf_state>(ex, std::move(perf_map), options);
    BPFCO_TRY(s->open());
    return perf_buffer(ex, std::move(s));
}

perf_buffer::perf_buffer(const executor_type& ex, map perf_map, perf_buffer_options options)
    : perf_buffer(create(ex, std::move(perf_map), options).value()) {}

std::uint64_t perf_buffer::lost() const noexcept { return state() ? state()->lost() : 0; }
std::uint64_t perf_buffer::type_mismatches() const noexcept { return state() ? state()->type_mismatches() : 0; }
std::string perf_buffer::record_type_refusal() const { return state() ? state()->record_type_refusal() : std::string(); }
std::uint64_t perf_buffer::lost(std::uint32_t cpu) const noexcept { return state() ? state()->lost(cpu) : 0; }
std::vector<std::uint32_t> perf_buffer::cpus() const {
    return state() ? state()->cpus() : std::vector<std::uint32_t>{};
}
std::size_t perf_buffer::ring_size() const noexcept { return state() ? state()->ring_size() : 0; }

}  // namespace bpfco
