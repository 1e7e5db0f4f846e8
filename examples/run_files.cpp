#include "examples/run_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "minidl/core/error.h"

namespace minidl {

namespace {

namespace fs = std::filesystem;

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

std::string system_error() { return std::strerror(errno); }

// The type of `path` without following a symbolic link's absence into an exception.
fs::file_type type_of(const std::string& path) {
  std::error_code ignored;
  return fs::status(path, ignored).type();
}

// Why `path` can be neither opened nor created, when the reason is not that it simply does not
// exist yet: a symbolic link to nothing, a loop of links, a name too long, a folder on the way
// that cannot be searched. "" when it exists or is merely absent.
std::string path_problem(const std::string& path) {
  std::error_code error;
  (void)fs::status(path, error);  // only its error matters here
  if (!error) return "";
  std::error_code ignored;
  if (error == std::errc::not_a_directory) return "";  // a file on the way: creating says so
  if (error == std::errc::no_such_file_or_directory) {
    if (!fs::is_symlink(fs::symlink_status(path, ignored))) return "";
    return "is a symbolic link to '" + fs::read_symlink(path, ignored).string() +
           "', which does not exist";
  }
  if (error == std::errc::too_many_symbolic_link_levels) return "is a loop of symbolic links";
  if (error == std::errc::filename_too_long) {
    return "is a name too long for the file system (" + error.message() + ")";
  }
  return "cannot be looked up: " + error.message();
}

// Writes all of `text` to `fd`, retrying short writes; false (errno set) on failure.
bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

// Makes a rename or an unlink in `dir` itself survive a crash of the machine.
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the data itself is already on disk
  ::fsync(fd);
  ::close(fd);
}

// Replaces `path` by `text` atomically: a temporary file beside it, fsync, rename.
void replace_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("cannot create ", temporary, ": ", system_error());
  const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  const std::string reason = system_error();
  ::close(fd);
  if (!ok) fail("writing ", temporary, " failed: ", reason);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    fail("cannot rename ", temporary, " to ", path, ": ", system_error());
  }
  sync_directory(fs::path(path).parent_path().string());
}

// The run's files present in `dir`, refusing any that is a folder or other non-file: training
// would find out only when it first writes there, an epoch later.
std::vector<std::string> existing_run_files(const std::string& dir) {
  const RunFolder run{dir};
  std::vector<std::string> present;
  for (const std::string& path : {run.metrics(), run.last(), run.best()}) {
    const fs::file_type type = type_of(path);
    if (type == fs::file_type::not_found) continue;
    if (type != fs::file_type::regular) {
      fail("--out '", dir, "': ", path, " is ",
           type == fs::file_type::directory ? "a directory" : "not a regular file",
           ", so the run could not write it; remove or rename it, or choose another --out");
    }
    present.push_back(fs::path(path).filename().string());
  }
  return present;
}

// Creates and removes a file in `dir`: the only sure test that the run can write there.
void check_writable(const std::string& dir) {
  // A fixed name, so a run killed right here leaves one stray file at most, never a pile.
  const std::string probe = dir + "/.minidl_write_check";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fail("--out '", dir, "' is not writable (cannot create a file in it: ", system_error(),
         "); choose another --out or fix the folder's permissions");
  }
  const bool ok = write_all(fd, "x") && ::fsync(fd) == 0;
  const std::string reason = system_error();
  ::close(fd);
  ::unlink(probe.c_str());
  if (!ok)
    fail("--out '", dir, "' is not writable (writing a file in it failed: ", reason,
         "; is the disk full?); choose another --out");
}

// A complete metrics row: as many comma-separated fields as kMetricsHeader, or the 8 of the
// versions before the validation columns (so that a run they started resumes without losing
// its rows), the first a positive epoch number. Returns the epoch, or 0 when the line is not
// such a row.
int64_t row_epoch(const std::string& line) {
  const std::string header = kMetricsHeader;
  const auto commas = std::count(line.begin(), line.end(), ',');
  if (commas != std::count(header.begin(), header.end(), ',') && commas != 7) return 0;
  const std::string first = line.substr(0, line.find(','));
  if (first.empty() || first.size() > 18 ||
      first.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoll(first);
}

std::string join_epochs(const std::vector<int64_t>& epochs) {
  std::ostringstream out;
  for (size_t i = 0; i < epochs.size(); ++i) out << (i ? ", " : "") << epochs[i];
  return out.str();
}

}  // namespace

RunLock::RunLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    fail("--out '", dir, "' is not writable (cannot create a file in it: ", system_error(),
         "); choose another --out or fix the folder's permissions");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    char holder[32] = {};
    const ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
    std::string pid(holder, size_t(std::max<ssize_t>(got, 0)));
    pid.erase(std::remove(pid.begin(), pid.end(), '\n'), pid.end());
    ::close(fd_);
    fd_ = -1;
    if (reason == EWOULDBLOCK) {
      fail("--out '", dir, "' is in use by another training run (process ",
           pid.empty() ? std::string("unknown") : pid, " holds ", path,
           "): wait for it to end, or choose another --out; nothing was changed");
    }
    fail("--out '", dir, "': cannot lock ", path, ": ", std::strerror(reason));
  }
  // The holder's process id, for the message above; the lock is what counts, not this text.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // Only the message of a second run would lack the number: not worth failing the run.
  }
}

RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

// Closing the descriptor releases the lock; the file stays, so that a waiting run and the next
// one lock the same inode (removing it would let two runs hold locks on two different files).
RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

RunLock prepare_output_folder(const std::string& dir, ExistingRun existing) {
  if (dir.empty())
    fail("--out is empty; give a folder for metrics.csv and the checkpoints, e.g. --out "
         "runs/cifar10");
  if (const std::string problem = path_problem(dir); !problem.empty()) {
    fail("--out '", dir, "' ", problem, "; choose another --out");
  }
  const fs::file_type type = type_of(dir);
  if (type != fs::file_type::not_found && type != fs::file_type::directory) {
    fail("--out '", dir,
         "' is a file, not a folder; choose a folder for metrics.csv and the "
         "checkpoints (it is created when missing)");
  }
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    fail("--out '", dir, "' cannot be created: ", error.message(), "; choose another --out");
  RunLock lock(dir);  // before anything in the folder is read or changed

  const std::vector<std::string> present = existing_run_files(dir);
  if (!present.empty() && existing == ExistingRun::Refuse) {
    std::string names;
    for (const std::string& name : present) names += (names.empty() ? "" : ", ") + name;
    const std::string resume = fs::exists(RunFolder{dir}.last())
                                   ? "--resume " + RunFolder{dir}.last() + " to continue it, "
                                   : "";
    fail("--out '", dir, "' already holds a run (", names, "); pass ", resume,
         "--overwrite to replace it, or choose another --out");
  }
  check_writable(dir);
  return lock;
}

void remove_run_files(const std::string& dir) {
  const RunFolder run{dir};
  for (const std::string& path : {run.metrics(), run.last(), run.best()}) {
    std::error_code error;
    fs::remove(path, error);
    if (error) fail("--overwrite: cannot remove ", path, ": ", error.message());
  }
  sync_directory(dir);
}

void check_resume_file(const std::string& path) {
  if (path.empty())
    fail("--resume needs a checkpoint file, got an empty path (e.g. --resume "
         "runs/cifar10/last.safetensors)");
  if (const std::string problem = path_problem(path); !problem.empty()) {
    fail("--resume '", path, "' ", problem, "; give a checkpoint file such as ",
         "runs/cifar10/last.safetensors");
  }
  switch (type_of(path)) {
    case fs::file_type::not_found:
      fail("--resume '", path,
           "' does not exist; give a checkpoint file such as "
           "runs/cifar10/last.safetensors, or leave --resume out to start a new run");
    case fs::file_type::directory: {
      const std::string inside = (fs::path(path) / "last.safetensors").string();
      fail("--resume '", path, "' is a directory; give the checkpoint file",
           fs::is_regular_file(inside) ? ", e.g. --resume " + inside : " (a .safetensors file)");
    }
    case fs::file_type::regular: break;
    default: fail("--resume '", path, "' is not a regular file; give a .safetensors checkpoint");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) fail("--resume '", path, "' cannot be read: ", system_error());
  if (fs::file_size(path) == 0) {
    fail("--resume '", path,
         "' is empty (0 bytes), not a checkpoint: an interrupted copy? "
         "Try the folder's other checkpoint (best.safetensors or last.safetensors)");
  }
}

double parse_best_accuracy(const std::string& checkpoint, const std::string& key,
                           const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  const bool whole = !text.empty() && end == text.c_str() + text.size() && errno == 0;
  if (!whole || !(value >= 0.0 && value <= 1.0)) {
    fail("checkpoint ", checkpoint, ": metadata ", key, " = '", text,
         "' is not an accuracy between 0 and 1 (was the file edited, or written by another "
         "program?)");
  }
  return value;
}

std::string exact_accuracy(double accuracy) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", accuracy);
  return text;
}

std::string MetricsRepair::describe() const {
  std::ostringstream out;
  if (created) out << "no metrics.csv: started a new one; ";
  if (header_restored) out << "restored the missing header; ";
  if (rows_after_checkpoint)
    out << "dropped " << rows_after_checkpoint
        << " row(s) after the checkpoint's epoch (they are trained again); ";
  if (duplicate_rows) out << "dropped " << duplicate_rows << " duplicate row(s); ";
  if (broken_lines) out << "dropped " << broken_lines << " incomplete or malformed line(s); ";
  if (restored_rows)
    out << "restored " << restored_rows << " row(s) from the checkpoint's record; ";
  if (!missing_epochs.empty()) {
    out << "no row for completed epoch(s) " << join_epochs(missing_epochs)
        << " (they cannot be rebuilt from the checkpoint); ";
  }
  if (!backup.empty()) out << "the original is in " << backup << "; ";
  std::string text = out.str();
  if (text.size() >= 2) text.resize(text.size() - 2);
  return text;
}

MetricsRepair reconcile_metrics(const std::string& path, int64_t completed_epochs,
                                const std::map<int64_t, std::string>& recorded) {
  MetricsRepair repair;
  const fs::file_type type = type_of(path);
  if (type != fs::file_type::not_found && type != fs::file_type::regular) {
    fail(path, " is not a regular file; remove or rename it, or choose another --out");
  }
  std::string text;
  if (type == fs::file_type::not_found) {
    repair.created = true;
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) fail("cannot read ", path, ": ", system_error());
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }

  // Split into lines, read as what they are: a UTF-8 byte-order mark and Windows line ends
  // (an editor's) are not part of the values. A last line without its newline was cut short
  // by a kill.
  std::vector<std::string> lines;
  size_t start = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      ++repair.broken_lines;
      break;
    }
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    start = end + 1;
  }
  // A file of another format (a spreadsheet's ';' separators, say) is refused and left alone:
  // every line of it would be "malformed", and dropping them would empty the file.
  if (!lines.empty() && lines[0] != kMetricsHeader && lines[0] != kOlderMetricsHeader &&
      row_epoch(lines[0]) == 0) {
    const bool semicolons = lines[0].find(';') != std::string::npos;
    fail(path, " does not start with train_cifar10's header (", kMetricsHeader, ")",
         semicolons ? ", and its first line has ';' separators (saved by a spreadsheet?)" : "",
         ": it was left unchanged; restore it, or move it away to start the file afresh");
  }

  std::map<int64_t, std::string> rows;                     // by epoch: ordered, one each
  std::map<int64_t, std::vector<std::string>> candidates;  // epochs with differing rows
  bool header_seen = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line == kMetricsHeader || line == kOlderMetricsHeader) {
      if (i == 0) header_seen = true;
      else ++repair.broken_lines;  // a stray header (e.g. from an older version's restart)
      continue;
    }
    const int64_t epoch = row_epoch(line);
    if (epoch == 0) {
      ++repair.broken_lines;
    } else if (epoch > completed_epochs) {
      ++repair.rows_after_checkpoint;
    } else if (!rows.emplace(epoch, line).second) {
      ++repair.duplicate_rows;
      if (rows[epoch] != line) candidates[epoch].push_back(line);
    }
  }
  // Two different rows for one epoch: the checkpoint's record of that epoch decides, or the
  // resume stops (nothing changed) rather than guess.
  for (auto& [epoch, others] : candidates) {
    others.push_back(rows[epoch]);
    const auto known = recorded.find(epoch);
    const bool decided = known != recorded.end() &&
                         std::find(others.begin(), others.end(), known->second) != others.end();
    if (!decided) {
      fail(path, " has ", others.size(), " different rows for epoch ", epoch,
           known == recorded.end() ? " and the checkpoint does not record which is right"
                                   : " and none is the one the checkpoint recorded",
           ": it was left unchanged; keep the right row and delete the others");
    }
    rows[epoch] = known->second;
  }
  // Completed epochs without a row: the checkpoint's record brings them back.
  for (int64_t e = 1; e <= completed_epochs; ++e) {
    if (rows.count(e)) continue;
    const auto known = recorded.find(e);
    if (known != recorded.end()) {
      rows[e] = known->second;
      ++repair.restored_rows;
    } else if (repair.missing_epochs.size() < 20) {
      repair.missing_epochs.push_back(e);
    }
  }
  repair.header_restored = !repair.created && !header_seen;
  repair.rows_kept = int64_t(rows.size());

  // Rewrite only when something changes, or when rows were out of order; a file that loses a
  // line is first copied whole to metrics.csv.bak.
  std::string repaired = std::string(kMetricsHeader) + "\n";
  for (const auto& [epoch, row] : rows) repaired += row + "\n";
  if (repair.changed() || repaired != text) {
    if (repair.rows_after_checkpoint || repair.duplicate_rows || repair.broken_lines ||
        repaired.size() < text.size()) {
      // A new name each time: an earlier repair's original is never overwritten.
      repair.backup = path + ".bak";
      for (int n = 1; fs::exists(repair.backup); ++n)
        repair.backup = path + ".bak." + std::to_string(n);
      replace_file(repair.backup, text);
    }
    replace_file(path, repaired);
  }
  return repair;
}

std::string encode_rows(const std::map<int64_t, std::string>& rows) {
  std::string text;
  for (const auto& [epoch, row] : rows) text += (text.empty() ? "" : "\n") + row;
  return text;
}

std::map<int64_t, std::string> decode_rows(const std::string& text) {
  std::map<int64_t, std::string> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (const int64_t epoch = row_epoch(line)) rows[epoch] = line;
  }
  return rows;
}

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd_ < 0) fail("cannot open ", path, " for appending: ", system_error());
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    const std::string reason = system_error();
    ::close(fd_);
    fail("cannot inspect ", path, ": ", reason);
  }
  // A new file gets its header at once (and on disk), so a run killed in its first epoch
  // still leaves a file that starts with the header.
  if (info.st_size == 0) append(kMetricsHeader);
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::append(const std::string& row) {
  if (!write_all(fd_, row + "\n") || ::fsync(fd_) != 0) {
    fail("writing a row to ", path_, " failed: ", system_error(), " (disk full?)");
  }
}

}  // namespace minidl
