// mixup-train's --log: a CSV file written a line at a time and flushed after each line, so a
// run stopped later keeps every finished epoch. A failed write says why (errno's words), and
// a log whose header could not be written is removed rather than left behind empty.
#pragma once

#include <cstdio>
#include <string>

namespace mixup::tools {

class CsvLog {
 public:
  // Creates (truncates) `path` and writes `header`; throws Failure naming flag, path and reason.
  CsvLog(const std::string& path, const std::string& flag, const std::string& header);
  ~CsvLog();
  CsvLog(const CsvLog&) = delete;
  CsvLog& operator=(const CsvLog&) = delete;
  // Appends `text` and flushes it to the file; throws Failure naming flag, path and reason.
  void write(const std::string& text);

 private:
  std::string path_, flag_;
  std::FILE* f_ = nullptr;
};

}  // namespace mixup::tools
