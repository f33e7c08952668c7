#include "thread_pool.hpp"

namespace mixup::detail {

ThreadPool::ThreadPool(int threads) {
  for (int id = 1; id < threads; ++id) workers_.emplace_back([this, id] { work(id); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
void run_share(std::int64_t tasks, int parts, int id, const RangeFn& fn) {
  const std::int64_t begin = tasks * id / parts, end = tasks * (id + 1) / parts;
  if (begin < end) fn(begin, end);
}
}  // namespace

void ThreadPool::run(std::int64_t tasks, const RangeFn& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    fn(0, tasks);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_.notify_all();
  run_share(tasks, size(), 0, fn);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::work(int id) {
  std::uint64_t seen = 0;
  for (;;) {
    const RangeFn* job;
    std::int64_t tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      tasks = tasks_;
    }
    run_share(tasks, size(), id, *job);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

}  // namespace mixup::detail
