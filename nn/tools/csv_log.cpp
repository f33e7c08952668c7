#include "csv_log.hpp"

#include <cerrno>

#include "cli.hpp"

namespace mixup::tools {

CsvLog::CsvLog(const std::string& path, const std::string& flag, const std::string& header)
    : path_(path), flag_(flag) {
  errno = 0;
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) throw Failure(flag + " " + path + ": cannot create it (" + errno_text(errno) + ")");
  try {
    write(header);
  } catch (...) {
    std::fclose(f_);
    std::remove(path.c_str());  // nothing of the log was written: leave no empty file behind
    throw;
  }
}

CsvLog::~CsvLog() {
  if (f_) std::fclose(f_);
}

void CsvLog::write(const std::string& text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), f_) != text.size() || std::fflush(f_) != 0)
    throw Failure(flag_ + " " + path_ + ": write failed (" + errno_text(errno) + ")");
}

}  // namespace mixup::tools
