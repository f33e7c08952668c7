// A fixed set of worker threads owned by a CPU handle (and by the trainer's CPU engine), so a
// call never creates threads or allocates: parallel_for splits [0, tasks) into contiguous
// ranges, the caller's thread taking the first one. Internal to this repository (the
// mixup_thread_pool target, util/CMakeLists.txt): not installed, hence namespace detail.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace mixup::detail {

// A non-owning callable reference: unlike std::function it never allocates.
struct RangeFn {
  void* obj;
  void (*call)(void*, std::int64_t, std::int64_t);
  void operator()(std::int64_t b, std::int64_t e) const { call(obj, b, e); }
};

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads ≥ 1, the caller's included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // fn(begin, end) over a partition of [0, tasks); returns when all ranges are done.
  template <class F>
  void parallel_for(std::int64_t tasks, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    RangeFn ref{const_cast<void*>(static_cast<const void*>(&fn)),
                [](void* o, std::int64_t b, std::int64_t e) { (*static_cast<Fn*>(o))(b, e); }};
    run(tasks, ref);
  }

 private:
  void run(std::int64_t tasks, const RangeFn& fn);
  void work(int id);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const RangeFn* job_ = nullptr;
  std::int64_t tasks_ = 0;
  std::uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace mixup::detail
