#include <bpfco/streams/ring_buffer.hpp>
#include <bpfco/maps/per_cpu.hpp>

#include "streams/async_stream.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using boost::system::error_code;

namespace bpfco {
namespace detail {

class ring_state final : public async_stream<ring_state, ring_batch> {
public:
    static constexpr std::string_view what = "ring buffer";

    ring_state(const asio::any_io_executor& ex, map m, ring_buffer_options o)
        : async_stream(ex, o.poll_interval), map_(std::move(m)), mismatches_("ring buffer '" + map_.name() + "'", map_.record_declaration()),
          max_records_(o.max_records), max_bytes_(o.max_bytes) {}

    ~ring_state() {
        if (consumer_page_) ::munmap(consumer_page_, page_size_);
        if (producer_area_) ::munmap(producer_area_, page_size_ + 2 * capacity_);
    }

    result<void> open() {
        static constexpr map_type ringbuf_type[] = {map_type::ringbuf};
        BPFCO_TRY(map_.check(ringbuf_type, 0, 0));
        page_size_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        capacity_ = map_.info().max_entries;
        void* c = ::mmap(nullptr, page_size_, PROT_READ | PROT_WRITE, MAP_SHARED, map_.fd(), 0);
        if (c == MAP_FAILED) return failure(map_.make_error(errno, "mmap of the consumer page"));
        consumer_page_ = c;
        // The kernel maps the data area twice after the producer page: a wrapped record is contiguous.
        void* p = ::mmap(nullptr, page_size_ + 2 * capacity_, PROT_READ, MAP_SHARED, map_.fd(),
                         static_cast<off_t>(page_size_));
        if (p == MAP_FAILED) return failure(map_.make_error(errno, "mmap of the producer page and data"));
        producer_area_ = p;
        ring_ = ring_records::ring_view::over(
            {static_cast<const std::byte*>(p) + page_size_, static_cast<std::size_t>(2 * capacity_)});
        // relaxed: only we write consumer_pos, and no record is read on the strength of this load.
        read_pos_ = committed_ = consumer_pos().load(std::memory_order_relaxed);

        // The reactor gets its own fd so that closing the stream never closes the map's.
        int dup = ::fcntl(map_.fd(), F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return failure(map_.make_error(errno, "dup of the map fd"));
        return assign_wake_fd(dup, "ring buffer '" + map_.name() + "'");
    }

    std::uint64_t capacity() const noexcept { return capacity_; }
    std::uint64_t type_mismatches() const noexcept { return mismatches_.count(); }
    std::string record_type_refusal() const { return mismatches_.refusal(); }

    std::uint64_t available_bytes() const noexcept {
        // relaxed: a fill level for metrics; no record is read on the strength of it.
        return producer_pos().load(std::memory_order_relaxed) - consumer_pos().load(std::memory_order_relaxed);
    }

    void release_space(std::uint64_t end) noexcept {
        if (end <= committed_) return;  // an older batch released after a newer one
        committed_ = end;
        // release: our reads of the records happen before the producer may reuse their space;
        // pairs with smp_load_acquire(&rb->consumer_pos) in the kernel's bpf_ringbuf_reserve().
        consumer_pos().store(end, std::memory_order_release);
    }

    // The records available now (up to max_records/max_bytes) as a lazy batch, possibly empty.
    // Only proves that one submitted record is there: the batch's iterator walks the rest.
    result<ring_batch> take() {
        // The previous batch's end must be fixed first: this one starts there.
        if (open_) open_->resolve();
        if (mismatches_.refused()) [[unlikely]]
            return failure(EBADMSG, mismatches_.refusal());
        // acquire: pairs with smp_store_release(&rb->producer_pos) in bpf_ringbuf_reserve(), so
        // every header below producer_pos is at least reserved (BUSY) when we load it.
        const std::uint64_t prod = producer_pos().load(std::memory_order_acquire);
        const std::uint64_t begin = read_pos_;
        if (!ring_records::positions_valid(ring_, begin, prod)) return corrupt();
        const std::uint64_t limit = max_bytes_ != 0 && max_bytes_ < prod - begin ? begin + max_bytes_ : prod;
        const auto f = ring_records::find_submitted(ring_, begin, limit, prod);
        if (f.stop == ring_records::walk_stop::corrupt) return corrupt();
        if (!f.found) {
            // Nothing submitted: the batch is empty and only covers the discarded records skipped.
            read_pos_ = f.pos;
            return ring_batch(shared_from_this(), begin, f.pos);
        }
        ring_batch b(shared_from_this(), ring_, begin, f.pos, f.len, limit, prod, max_records_, &mismatches_);
        open_ = &b;  // followed through moves by batch_moved(), cleared by batch_ended()
        return b;
    }

    // The open batch's end is known: the next batch starts there.
    void batch_ended(std::uint64_t end) noexcept {
        read_pos_ = end;
        open_ = nullptr;
    }
    void batch_moved(const ring_batch* from, ring_batch* to) noexcept {
        if (open_ == from) open_ = to;
    }

    bool may_have_records() const noexcept {
        if (open_) return true;  // the previous batch's end is not fixed yet
        if (mismatches_.refused()) return true;  // take() fails with the refusal
        return producer_pos().load(std::memory_order_acquire) != read_pos_;
    }

private:
    std::atomic_ref<std::uint64_t> consumer_pos() const noexcept {
        return std::atomic_ref<std::uint64_t>(*static_cast<std::uint64_t*>(consumer_page_));
    }
    std::atomic_ref<std::uint64_t> producer_pos() const noexcept {
        // atomic_ref needs a mutable object; the page is mapped read-only and only loaded from.
        return std::atomic_ref<std::uint64_t>(*static_cast<std::uint64_t*>(producer_area_));
    }

    map map_;
    type_mismatch_counter mismatches_;
    std::size_t max_records_;
    std::uint64_t max_bytes_;
    std::size_t page_size_ = 0;
    std::uint64_t capacity_ = 0;
    void* consumer_page_ = nullptr;
    void* producer_area_ = nullptr;
    result<ring_batch> corrupt() const {
        return failure(EBADMSG, "ring buffer '" + map_.name() + "': a record length runs past the producer "
                                "position or the ring: the ring cannot be read further");
    }

    ring_records::ring_view ring_;
    std::uint64_t read_pos_ = 0;   // handed out to batches up to here (when open_ is null)
    ring_batch* open_ = nullptr;   // the batch handed out whose end is not known yet
    std::uint64_t committed_ = 0;  // consumer_pos as last stored
};

void release_ring_space(ring_state& state, std::uint64_t end) noexcept { state.release_space(end); }
void ring_batch_ended(ring_state& state, std::uint64_t end) noexcept { state.batch_ended(end); }
void ring_batch_moved(ring_state& state, const ring_batch* from, ring_batch* to) noexcept {
    state.batch_moved(from, to);
}

template class io_object<ring_state>;
template class event_stream<ring_state, ring_batch>;

}  // namespace detail

result<ring_buffer> ring_buffer::create(const executor_type& ex, map ring_map, ring_buffer_options options) {
    auto s = std::make_shared<detail::ring_state>(ex, std::move(ring_map), options);
    BPFCO_TRY(s->open());
    return ring_buffer(ex, std::move(s));
}

ring_buffer::ring_buffer(const executor_type& ex, map ring_map, ring_buffer_options options)
    : ring_buffer(create(ex, std::move(ring_map), options).value()) {}

std::uint64_t ring_buffer::capacity() const noexcept { return state() ? state()->capacity() : 0; }
std::uint64_t ring_buffer::available_bytes() const noexcept { return state() ? state()->available_bytes() : 0; }
std::uint64_t ring_buffer::type_mismatches() const noexcept { return state() ? state()->type_mismatches() : 0; }
std::string ring_buffer::record_type_refusal() const { return state() ? state()->record_type_refusal() : std::string(); }

result<std::uint64_t> read_drop_counter(const map& drops, std::uint32_t key) {
    static constexpr map_type percpu_array[] = {map_type::percpu_array};
    BPFCO_TRY(drops.check(percpu_array, sizeof(std::uint32_t), sizeof(std::uint64_t)));
    BPFCO_TRY(const std::size_t cpus, possible_cpus());
    std::vector<std::uint64_t> values(cpus);
    BPFCO_TRY(drops.lookup_bytes(&key, values.data()));
    std::uint64_t sum = 0;
    for (auto v : values) sum += v;
    return sum;
}

}  // namespace bpfco
