// How a failure on one rank becomes the same stop on every rank. Each rank's failure turns into
// an exit status (1, or what the exception says: 130 for SIGINT); the statuses travel with
// the next collective, and every rank then throws RankFailure naming the lowest failing rank.
// Only that rank speaks (its own message); the others exit silently with the same status.
#pragma once

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace mixup::nn {

class Communicator;

// An exception that says which exit status it should end the program with.
struct HasExitStatus {
  virtual ~HasExitStatus() = default;
  virtual int exit_status() const = 0;
};

struct RankFailure : std::runtime_error {
  int status, rank;
  bool speak;  // this rank prints the message; the others stay silent
  RankFailure(const std::string& what, int status_, int rank_, bool speak_)
      : std::runtime_error(what), status(status_), rank(rank_), speak(speak_) {}
};

// The exit status an exception asks for: HasExitStatus's, else 1.
int exit_status_of(const std::exception_ptr& e);
std::string message_of(const std::exception_ptr& e);

// statuses[r] for each rank r (0: fine). Throws RankFailure for the lowest failing rank, or
// returns when none failed. `mine`: this process's exception, if it failed (its message is
// the one spoken); first_local..first_local + local - 1 are the ranks this process runs.
void raise_first_failure(const int* statuses, int ranks, int first_local, int local,
                         const std::exception_ptr& mine);

// Runs fn on every rank of comm; if it throws on any, it throws RankFailure on every rank.
// One rank: fn's own exception, unchanged.
void all_or_none(Communicator& comm, const std::function<void()>& fn);

}  // namespace mixup::nn
