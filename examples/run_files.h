// The files a training run keeps in its output folder (--out): metrics.csv, one row per
// completed epoch, the checkpoint last.safetensors, and best.safetensors when a validation split
// chooses the best epoch (--validation; the test set never does). The rules here
// make sure nothing is lost and nothing is counted twice:
//   - a run never starts in a folder that already holds a run unless it was asked to resume it
//     or to overwrite it, and the folder is proved writable before any data is loaded;
//   - every metrics row is written whole in one call, checked, and forced to disk;
//   - the training loop writes an epoch's metrics row before its checkpoint, so after a kill
//     metrics.csv holds at most a few rows the checkpoint does not know about, never fewer;
//     reconcile_metrics() drops those when the run is resumed, and the resumed run writes them
//     again. So any kill followed by a resume leaves exactly one row per completed epoch.
// Every problem is a minidl::Error whose message names the flag or file and what would work.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace minidl {

constexpr const char* kMetricsHeader =
    "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec,val_loss,val_acc";
// The header of the versions before the validation columns: a run they started resumes, and
// its header is brought up to date.
constexpr const char* kOlderMetricsHeader =
    "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec";

// The paths of a run's files inside its output folder.
struct RunFolder {
  std::string dir;
  std::string metrics() const { return dir + "/metrics.csv"; }
  std::string last() const { return dir + "/last.safetensors"; }
  std::string best() const { return dir + "/best.safetensors"; }
};

// What the user asked to happen when --out already holds a run.
enum class ExistingRun {
  Refuse,     // neither flag: stop, saying which flag would continue or replace it
  Resume,     // --resume: keep it, metrics.csv is reconciled with the checkpoint
  Overwrite,  // --overwrite: replace it (remove_run_files, once everything else is checked)
};

// A run folder has one owner: an advisory lock (flock) on DIR/.lock, held while this object
// lives, and released by the kernel when the process ends, however it ends (kill -9 too). A
// second train_cifar10 on the same --out, a new run, a --resume or an --overwrite, is refused
// while the first one trains: two writers would interleave metrics rows and replace each
// other's checkpoints. The holder writes its process id into the file for that message.
class RunLock {
 public:
  RunLock() = default;
  // Error naming --out and the process that holds the lock.
  explicit RunLock(const std::string& dir);
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Checks --out before any data is loaded: creates it when missing, refuses a file in its place,
// takes the folder's RunLock (refusing a folder another run holds), refuses a folder holding a
// run unless `existing` allows it, refuses a metrics.csv or checkpoint name taken by a folder,
// and proves the folder writable by creating a file in it. Keep the returned lock for the run.
RunLock prepare_output_folder(const std::string& dir, ExistingRun existing);

// For --overwrite: removes the previous run's metrics.csv and checkpoints.
void remove_run_files(const std::string& dir);

// Checks the --resume path before the model is built: present, a regular file, not empty,
// readable. (Its contents are checked by load_checkpoint.)
void check_resume_file(const std::string& path);

// A checkpoint's accuracy metadata (`key`, e.g. "best_val_acc") as a number in [0, 1];
// anything else names the file and the key.
double parse_best_accuracy(const std::string& checkpoint, const std::string& key,
                           const std::string& text);
// An accuracy as the checkpoints record it: exactly (%.17g), so that a resumed run compares
// against the same best value as an uninterrupted one.
std::string exact_accuracy(double accuracy);

// What reconcile_metrics found and did.
struct MetricsRepair {
  bool created = false;          // there was no metrics.csv: a header-only one was written
  bool header_restored = false;  // the header line was missing
  int64_t rows_kept = 0;
  int64_t rows_after_checkpoint = 0;    // rows for epochs the checkpoint has not completed
  int64_t duplicate_rows = 0;           // a second row for an epoch already present
  int64_t broken_lines = 0;             // a line cut short by a kill, or not a metrics row
  std::vector<int64_t> missing_epochs;  // completed epochs with no row, nor one recorded
  int64_t restored_rows = 0;            // missing rows brought back from the checkpoint's record
  std::string backup;                   // where the original went before lines were dropped

  bool changed() const {
    return created || header_restored || rows_after_checkpoint || duplicate_rows || broken_lines ||
           restored_rows;
  }
  std::string describe() const;  // one line for the user, empty when nothing was wrong
};

// Brings metrics.csv in line with a checkpoint of `completed_epochs` epochs: the header first,
// then one row per epoch 1..completed_epochs in order; rows after the checkpoint, repeated
// rows and broken lines are dropped, and rows the file lacks come back from `recorded` (the
// rows the checkpoint recorded, by epoch). Repairs never destroy:
//   - before a line is dropped, the whole original goes to metrics.csv.bak (describe() says so);
//   - a UTF-8 byte-order mark and CRLF line ends are read as what they are;
//   - a file that does not start with the header or a row (';' separators, another file) is
//     refused and left alone, not emptied;
//   - two different rows for one epoch: the one `recorded` holds is kept, or, when it holds
//     neither, the resume is refused and the file left alone.
// The file is rewritten atomically (temporary file, fsync, rename), so a kill during the
// repair leaves either the old or the repaired file.
MetricsRepair reconcile_metrics(const std::string& path, int64_t completed_epochs,
                                const std::map<int64_t, std::string>& recorded = {});

// The metrics rows a checkpoint records (metadata "train.metrics"), one per line, and back, by
// epoch (lines that are not rows are skipped), for reconcile_metrics.
std::string encode_rows(const std::map<int64_t, std::string>& rows);
std::map<int64_t, std::string> decode_rows(const std::string& text);

// An append-only metrics.csv. Opening creates it with its header when it is missing or empty.
// append() writes the row in one write() call, checks that every byte went out and fsyncs,
// so a row is either on disk whole or (killed mid-write) a broken last line that
// reconcile_metrics drops.
class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void append(const std::string& row);  // without the trailing newline

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace minidl
