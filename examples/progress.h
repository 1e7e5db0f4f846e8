// A one-line progress bar per epoch: batch i/n, running loss and accuracy, images/s, ETA.
// In a terminal it redraws in place at every update; in a log (not a terminal) it prints a
// plain line each time another tenth of the epoch is done, so logs stay readable. The training
// loop updates it only every few batches: reading the running loss back from the GPU is a wait.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace minidl {

class ProgressBar {
 public:
  ProgressBar(int64_t epoch, int64_t epochs, int64_t batches)
      : epoch_(epoch), epochs_(epochs), batches_(batches), terminal_(isatty(fileno(stdout))) {}

  // Called with the batches and images done so far, the running means, and the time since
  // the epoch started.
  void update(int64_t batches_done, int64_t images_seen, double loss, double accuracy,
              double elapsed_seconds) {
    const bool tenth = batches_done * 10 / batches_ != done_ * 10 / batches_;
    done_ = batches_done;
    if (!terminal_ && !tenth) return;
    const double rate = elapsed_seconds > 0 ? images_seen / elapsed_seconds : 0.0;
    const double eta = elapsed_seconds / done_ * (batches_ - done_);
    constexpr int kWidth = 24;
    char bar[kWidth + 1];
    const int64_t filled = kWidth * done_ / batches_;
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    std::printf(
        "%sepoch %lld/%lld [%s] %lld/%lld  loss %.4f  acc %5.2f%%  %5.0f img/s  ETA %4.0f s%s",
        terminal_ ? "\r" : "", (long long)epoch_, (long long)epochs_, bar, (long long)done_,
        (long long)batches_, loss, 100 * accuracy, rate, eta, terminal_ ? "" : "\n");
    std::fflush(stdout);
  }

  // Ends the redrawn line before the epoch summary is printed.
  void finish() {
    if (terminal_) std::printf("\n");
  }

 private:
  int64_t epoch_, epochs_, batches_, done_ = 0;
  bool terminal_;
};

}  // namespace minidl
