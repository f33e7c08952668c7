#include "rank_failure.hpp"

#include <vector>

#include "comm.hpp"

namespace mixup::nn {

int exit_status_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const HasExitStatus& s) {
    return s.exit_status();
  } catch (const RankFailure& f) {
    return f.status;
  } catch (...) {
    return 1;
  }
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

void raise_first_failure(const int* statuses, int ranks, int first_local, int local,
                         const std::exception_ptr& mine) {
  for (int r = 0; r < ranks; ++r) {
    if (statuses[r] == 0) continue;
    const bool here = mine && r >= first_local && r < first_local + local;
    throw RankFailure(here ? message_of(mine) : "rank " + std::to_string(r) + " failed", statuses[r], r,
                      here);
  }
}

void all_or_none(Communicator& comm, const std::function<void()>& fn) {
  std::exception_ptr err;
  try {
    fn();
  } catch (...) {
    if (comm.size() == 1) throw;
    err = std::current_exception();
  }
  if (comm.size() == 1) return;
  const int mine = err ? exit_status_of(err) : 0;
  std::vector<int> all(static_cast<std::size_t>(comm.size()));
  comm.allgather(&mine, all.data(), sizeof mine);
  raise_first_failure(all.data(), comm.size(), comm.rank(), 1, err);
}

}  // namespace mixup::nn
