// Issue #11 (reliability) for train_cifar10 and the CIFAR-10 reader: every bad input named in
// docs/robustness.md gets its own message, checked here word for word where the words matter.
//   - strict dataset files (data/cifar10.cpp): exact sizes, limits, wrong kinds of paths;
//   - the flags (examples/train_options.cpp): bounds, signs, empty paths, too few steps;
//   - the output folder and metrics.csv (examples/run_files.cpp): no run overwritten by accident,
//     writability proved up front, metrics reconciled with the checkpoint on --resume.
// The program-level cases (a real run killed with kill -9 and resumed) are in
// train_safety_test.sh. Permission cases run as user "nobody" in a child process when the tests
// run as root, since root reads and writes through any permission bits.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>

#include "examples/flag_hints.h"
#include "examples/resume_settings.h"
#include "examples/run_files.h"
#include "examples/train_options.h"
#include "minidl/core/error.h"
#include "minidl/data/cifar10.h"
#include "testutil.h"

using namespace minidl;
using testutil::error_of;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("minidl_safety_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// `count` CIFAR-10 records: label (first + r) % 10, pixels a pattern of the record number.
void write_records(const fs::path& path, int64_t count, int first = 0) {
  std::ofstream out(path, std::ios::binary);
  std::string record(Cifar10::kRecordBytes, '\0');
  for (int64_t r = 0; r < count; ++r) {
    record[0] = char((first + r) % 10);
    for (int i = 0; i < Cifar10::kImageBytes; ++i) record[1 + i] = char((r * 7 + i) % 256);
    out.write(record.data(), record.size());
  }
}

// A dataset folder of five training files and a test file, `per_file` records each.
fs::path make_dataset(const std::string& name, int64_t per_file) {
  const fs::path dir = fresh_dir(name);
  for (int f = 1; f <= 5; ++f)
    write_records(dir / ("data_batch_" + std::to_string(f) + ".bin"), per_file, f);
  write_records(dir / "test_batch.bin", per_file);
  return dir;
}

// error_of(f) for an ordinary user: permission bits do not stop root, so as root `f` runs in a
// child process that first becomes "nobody" (uid and gid 65534), and its message comes back
// through a pipe.
std::string error_as_unprivileged(const std::function<void()>& f) {
  if (::geteuid() != 0) return error_of(f);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string message =
        (::setgid(65534) == 0 && ::setuid(65534) == 0) ? error_of(f) : "(could not become nobody)";
    const ssize_t written = ::write(pipe_fds[1], message.data(), message.size());
    ::_exit(written == ssize_t(message.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return message;
}

TrainOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "train_cifar10");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return parse_train_options(int(argv.size()), argv.data());
}

std::string usage_error(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// ---- strict dataset files --------------------------------------------------------------------

TEST_CASE("load_cifar10 takes a complete 30730000-byte file and allocates only what a limit uses",
          "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("full_file");
  // A file of the real size, sparse (all zero bytes: label 0, black images), so it costs no disk.
  { std::ofstream touch(dir / "test_batch.bin"); }
  fs::resize_file(dir / "test_batch.bin", Cifar10::kFileBytes);
  REQUIRE(Cifar10::kFileBytes == 30730000);
  const Cifar10 five = load_cifar10(dir.string(), Split::Test, 5);
  CHECK(five.size() == 5);
  CHECK(five.pixels.capacity() == 5 * 3072);  // not the whole file
  CHECK(five.labels.capacity() == 5);
  const Cifar10 all = load_cifar10(dir.string(), Split::Test);
  CHECK(all.size() == 10000);
}

TEST_CASE("load_cifar10 refuses a file of the wrong size even when it is a multiple of 3073",
          "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("wrong_size");
  // 1.2 GB of whole records, sparse: the hostile case of a huge file that divides evenly.
  { std::ofstream touch(dir / "test_batch.bin"); }
  const int64_t huge = int64_t(Cifar10::kRecordBytes) * 400000;
  fs::resize_file(dir / "test_batch.bin", huge);
  const std::string expected = "has " + std::to_string(huge) +
                               " bytes but a CIFAR-10 binary "
                               "file has exactly 30730000 (10000 records of 3073 bytes)";
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Test); }), Catch::Contains(expected));
  // A limit does not make a longer file acceptable.
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Test, 10); }),
             Catch::Contains(expected));

  // A short file without a limit: refused, saying that a limit would accept it.
  write_records(dir / "test_batch.bin", 3);
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Test); }),
             Catch::Contains("test_batch.bin has 9219 bytes but a CIFAR-10 binary file has exactly "
                             "30730000") &&
                 Catch::Contains("a shorter file is accepted only with a limit"));
}

TEST_CASE("load_cifar10 accepts a shorter file only when it holds what the limit needs",
          "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("short_files");
  write_records(dir / "data_batch_1.bin", 7);
  // Only data_batch_1.bin exists: a limit it satisfies never opens the other files.
  const Cifar10 six = load_cifar10(dir.string(), Split::Train, 6);
  CHECK(six.size() == 6);
  CHECK(six.labels[5] == 5);
  CHECK(six.pixels.capacity() == 6 * 3072);
  CHECK(load_cifar10(dir.string(), Split::Train, 7).size() == 7);
  // One image more than the short file holds: the message says how many it has and needs.
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Train, 8); }),
             Catch::Contains("data_batch_1.bin holds 7 images (21511 bytes), fewer than the 8 "
                             "the limit still needs from it; a complete file holds 10000"));
  // Torn records are never accepted, limit or not.
  fs::resize_file(dir / "data_batch_1.bin", 7 * 3073 - 1);
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Train, 2); }),
             Catch::Contains("has 21510 bytes but a CIFAR-10 binary file has exactly 30730000"));
}

TEST_CASE("load_cifar10 reads across files of the expected size and stops at the limit",
          "[cpu][data][safety]") {
  const fs::path dir = make_dataset("across_files", 4);  // "complete" files of 4 records
  CHECK(load_cifar10(dir.string(), Split::Train, -1, 4).size() == 20);
  const Cifar10 ten = load_cifar10(dir.string(), Split::Train, 10, 4);
  REQUIRE(ten.size() == 10);
  CHECK(ten.labels[9] == (3 + 1) % 10);  // file 3, record 1
  CHECK(ten.pixels.capacity() == 10 * 3072);
  // A file that is needed but missing, after complete ones.
  fs::remove(dir / "data_batch_3.bin");
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Train, 10, 4); }),
             Catch::Contains("missing file") && Catch::Contains("data_batch_3.bin"));
  CHECK(load_cifar10(dir.string(), Split::Train, 8, 4).size() == 8);  // not needed: not opened
}

TEST_CASE("load_cifar10 names a directory where a file is expected", "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("dir_as_file");
  fs::create_directories(dir / "data_batch_1.bin");
  CHECK_THAT(error_of([&] { load_cifar10(dir.string(), Split::Train, 5); }),
             Catch::Contains("data_batch_1.bin is a directory, not a file") &&
                 Catch::Contains("unpacked one level too deep"));
}

TEST_CASE("load_cifar10 names a file where the data directory is expected", "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("file_as_dir");
  write_records(dir / "test_batch.bin", 3);
  const std::string file = (dir / "test_batch.bin").string();
  CHECK(error_of([&] { load_cifar10(file, Split::Test); }) ==
        "cifar10: data directory '" + file +
            "' is a file, not a directory: give the folder that holds it (the binary version: "
            "data_batch_1..5.bin and test_batch.bin, 10000 records of 3073 bytes each)");
  CHECK(error_of([&] { load_cifar10((dir / "nowhere").string(), Split::Test); }) ==
        "cifar10: data directory '" + (dir / "nowhere").string() +
            "' does not exist (scripts/download_cifar10.sh fetches the dataset)");
  CHECK_THAT(error_of([&] { load_cifar10("", Split::Test); }),
             Catch::Contains("the data directory name is empty"));
}

// The library's messages name load_cifar10's arguments, not train_cifar10's flags (--data,
// CIFAR10_DIR, --limit-train): the example adds those (examples/flag_hints.h, below).
TEST_CASE("load_cifar10 blames its dir or limit argument, naming no program's flags",
          "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("blamed_argument");
  write_records(dir / "data_batch_1.bin", 3);
  auto blamed = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const ArgumentError& e) {
      INFO(e.what());
      CHECK_THAT(e.what(), !Catch::Contains("--") && !Catch::Contains("CIFAR10_DIR"));
      return e.argument();
    }
    return "(no ArgumentError)";
  };
  const std::string file = (dir / "data_batch_1.bin").string();
  CHECK(blamed([&] { load_cifar10(file, Split::Train, 2); }) == "dir");
  CHECK(blamed([&] { load_cifar10((dir / "nowhere").string(), Split::Train, 2); }) == "dir");
  CHECK(blamed([&] { load_cifar10("", Split::Train, 2); }) == "dir");
  CHECK(blamed([&] { load_cifar10(dir.string(), Split::Train, 4); }) == "limit");  // 3 held
  CHECK(blamed([&] { load_cifar10(dir.string(), Split::Train); }) == "limit");     // too short
}

TEST_CASE("load_cifar10 names unreadable files and other non-files", "[cpu][data][safety]") {
  const fs::path dir = fresh_dir("unreadable");
  write_records(dir / "test_batch.bin", 3);
  fs::permissions(dir / "test_batch.bin", fs::perms::none);
  CHECK_THAT(error_as_unprivileged([&] { load_cifar10(dir.string(), Split::Test, 3); }),
             Catch::Contains("cannot read " + (dir / "test_batch.bin").string() +
                             ": Permission denied (check its permissions)"));
  // A folder the user may not enter: the files in it cannot even be looked at.
  const fs::path locked = fresh_dir("locked");
  write_records(locked / "test_batch.bin", 3);
  fs::permissions(locked, fs::perms::none);
  CHECK_THAT(error_as_unprivileged([&] { load_cifar10(locked.string(), Split::Test, 3); }),
             Catch::Contains("cannot access " + (locked / "test_batch.bin").string() +
                             ": Permission denied"));
  fs::permissions(locked, fs::perms::owner_all);  // so that the next run can remove it

  const fs::path fifo_dir = fresh_dir("fifo");
  REQUIRE(::mkfifo((fifo_dir / "test_batch.bin").c_str(), 0644) == 0);
  CHECK_THAT(error_of([&] { load_cifar10(fifo_dir.string(), Split::Test, 3); }),
             Catch::Contains("test_batch.bin is not a regular file"));
}

// ---- the flags ---------------------------------------------------------------------------------

TEST_CASE("train_cifar10 flags refuse negative seeds and out-of-range or overflowing numbers",
          "[cpu][options][safety]") {
  CHECK(usage_error({"--seed", "-1"}) ==
        "--seed expects a whole number from 0 to 18446744073709551615, got '-1'");
  CHECK(parse({"--seed", "18446744073709551615"}).seed == 18446744073709551615ULL);
  CHECK(usage_error({"--seed", "18446744073709551616"}) ==
        "--seed 18446744073709551616: must be in [0, 18446744073709551615]");
  CHECK(usage_error({"--epochs", "9223372036854775807"}) ==
        "--epochs 9223372036854775807: must be in [1, 1000000]");
  CHECK(usage_error({"--epochs", "99999999999999999999"}) ==
        "--epochs 99999999999999999999: must be in [1, 1000000]");
  CHECK(usage_error({"--epochs", "0"}) == "--epochs 0: must be in [1, 1000000]");
  CHECK(usage_error({"--epochs", "3x"}) ==
        "--epochs expects a whole number from 1 to 1000000, got '3x'");
  CHECK(usage_error({"--batch-size", "1"}) == "--batch-size 1: must be in [2, 1000000000]");
  CHECK(usage_error({"--batch-size", "4294967296"}) ==
        "--batch-size 4294967296: must be in [2, 1000000000]");
  CHECK(usage_error({"--limit-train", "60000"}) == "--limit-train 60000: must be in [1, 50000]");
  CHECK(usage_error({"--limit-test", "-5"}) == "--limit-test -5: must be in [1, 10000]");
  CHECK(usage_error({"--lr", "nan"}) == "--lr expects a number, got 'nan'");
  CHECK(usage_error({"--cutout", "33"}) == "--cutout 33: must be in [0, 32]");
}

TEST_CASE("train_cifar10 flags: --flag=value, a swallowed flag and out-of-range reals are named",
          "[cpu][options][safety]") {
  CHECK(parse({"--epochs=2"}).epochs == 2);  // was: "unknown option '--epochs=2'"
  CHECK(parse({"--lr=0.05", "--preset=fast94"}).lr == Approx(0.05f));
  CHECK(parse({"--preset=fast94"}).batch_size == 1024);  // the preset's defaults
  CHECK(usage_error({"--overwrite=1"}) == "--overwrite takes no value, got '--overwrite=1'");
  // `--out --epochs 5`: --out would have been named "--epochs" and 5 an unknown option.
  CHECK(usage_error({"--out", "--epochs", "5"}) ==
        "--out needs a value, but the next argument is the flag --epochs: give --out its value "
        "first");
  // Values out of a float's range are shown as typed, not as the 0 or inf they became.
  CHECK(usage_error({"--lr", "1e-50"}) ==
        "--lr 1e-50: too small for a float (the smallest normal one is about 1.2e-38)");
  CHECK(usage_error({"--weight-decay", "1e50"}) ==
        "--weight-decay 1e50: too large for a float (at most about 3.4e+38)");
  CHECK(usage_error({"--lr", "0x1p-3"}) == "--lr expects a number, got '0x1p-3'");
  CHECK(usage_error({"--lr", " 0.1"}) == "--lr expects a number, got ' 0.1'");
}

TEST_CASE("a divergence names the flag to lower: the weight decay when its step is the cause",
          "[cpu][options][safety]") {
  TrainOptions o;  // lr 0.1, weight decay 5e-4, momentum 0.9: the rate
  CHECK(divergence_hint(o) == "lower --lr (now 0.1)");
  o.weight_decay = 100.f;  // 0.1 x 100 / 0.1 = 100 of each weight per step
  CHECK(divergence_hint(o) ==
        "lower --weight-decay (now 100): each step takes lr x weight decay / (1 - momentum) = "
        "100 of every weight, so the weights flip sign and grow");
}

TEST_CASE("train_cifar10 flags refuse empty paths and --resume with --overwrite",
          "[cpu][options][safety]") {
  CHECK(usage_error({"--out", ""}) ==
        "--out needs a path, got an empty one (e.g. --out runs/cifar10)");
  CHECK(usage_error({"--resume", ""}) ==
        "--resume needs a path, got an empty one (e.g. --resume runs/cifar10/last.safetensors)");
  CHECK(usage_error({"--data", ""}) ==
        "--data needs a path, got an empty one (e.g. --data data/cifar10)");
  CHECK_THAT(usage_error({"--resume", "a.safetensors", "--overwrite"}),
             Catch::StartsWith("--resume and --overwrite contradict each other"));
  CHECK(parse({"--overwrite"}).overwrite);
}

TEST_CASE("train_cifar10 --preset sets the recipe, and flags given anywhere override it",
          "[cpu][options]") {
  const TrainOptions resnet = parse({});
  CHECK(resnet.preset == "resnet");
  CHECK(resnet.schedule == "onecycle");
  CHECK_FALSE(resnet.alternating_flip);
  CHECK(resnet.tta == 0);
  const TrainOptions fast = parse({"--preset", "fast94"});
  CHECK(fast.epochs == 10);
  CHECK(fast.batch_size == 1024);
  CHECK(fast.schedule == "triangle");
  CHECK(fast.alternating_flip);
  CHECK(fast.tta == 2);
  CHECK(fast.bias_lr_scale == 64.f);
  CHECK(fast.lookahead == 5);
  CHECK(fast.reflect_padding);  // airbench translates with reflected borders
  CHECK(fast.warmup_fraction == 0.23f);
  CHECK(fast.out_dir == "runs/fast94");
  // A flag before or after --preset wins over the preset's default.
  const TrainOptions before = parse({"--epochs", "3", "--preset", "fast95", "--tta", "0"});
  CHECK(before.preset == "fast95");
  CHECK(before.epochs == 3);
  CHECK(before.tta == 0);
  CHECK(before.lr == parse({"--preset", "fast95"}).lr);
  CHECK(usage_error({"--preset", "fast96"}) ==
        "--preset expects resnet, fast94 or fast95, got 'fast96'");
  CHECK(usage_error({"--preset"}) == "--preset needs a value");
  CHECK(usage_error({"--preset", "fast94", "--dropout", "0.1"}) ==
        "--dropout 0.1: applies to the resnet preset only (FastNet has no dropout)");
  CHECK_THAT(usage_error({"--tta", "3"}), Catch::StartsWith("--tta 3: must be in [0, 2]"));
}

TEST_CASE("train_cifar10 says which flag to change when the schedule gets too few steps",
          "[cpu][options][safety]") {
  TrainOptions o = parse({"--batch-size", "100000000", "--epochs", "1", "--limit-train", "256"});
  CHECK(error_of([&] { total_train_steps(o, 256); }) ==
        "--batch-size 100000000 with 256 training images gives 1 step per epoch; onecycle needs "
        "at least 3 steps in total: lower --batch-size or raise --epochs");
  o = parse({"--batch-size", "128", "--epochs", "1", "--limit-train", "256"});
  CHECK(error_of([&] { total_train_steps(o, 256); }) ==
        "--batch-size 128 with 256 training images gives 2 steps per epoch; onecycle needs at "
        "least 3 steps in total: lower --batch-size or raise --epochs or --limit-train");
  o = parse({"--batch-size", "256", "--epochs", "2", "--schedule", "onecycle"});
  CHECK(
      error_of([&] { total_train_steps(o, 256); }) ==
      "--batch-size 256 with 256 training images gives 1 step per epoch, 2 in total over "
      "--epochs 2; onecycle needs at least 3 steps in total: lower --batch-size or raise --epochs");
  o = parse({"--batch-size", "256", "--epochs", "1", "--schedule", "cosine"});
  CHECK(error_of([&] { total_train_steps(o, 200); }) ==
        "--batch-size 256 with 200 training images gives 1 step per epoch; cosine needs at "
        "least 2 steps in total: lower --batch-size or raise --epochs");
  o = parse({"--batch-size", "256", "--epochs", "1", "--schedule", "step"});
  CHECK(total_train_steps(o, 200) == 1);
  o = parse({"--batch-size", "2", "--epochs", "1000000"});
  CHECK(total_train_steps(o, 50000) == 25000000000LL);  // the largest run: no overflow
}

// ---- the flags for the library's refusals (examples/flag_hints.cpp) ---------------------------

TEST_CASE("train_cifar10 adds its flags to the library's refusals", "[cpu][options][safety]") {
  // load_cifar10 blames "dir": the example names --data and CIFAR10_DIR.
  const fs::path dir = fresh_dir("flag_hints");
  write_records(dir / "data_batch_1.bin", 3);
  const std::string file = (dir / "data_batch_1.bin").string();
  TrainOptions o = parse({"--data", file});
  try {
    load_cifar10(o.data_dir, Split::Train, o.limit_train);
    FAIL("a file was accepted as the data directory");
  } catch (const ArgumentError& e) {
    CHECK(with_flag_hint(e, data_flag_hint(e, o, Split::Train)) ==
          std::string(e.what()) +
              "; train_cifar10: point --data or CIFAR10_DIR at the folder that holds the dataset "
              "(now '" +
              file + "')");
  }
  // ... and "limit": the split's own flag, with its value when one was given.
  const ArgumentError limit("cifar10: ...", "limit");
  o = parse({"--limit-train", "17", "--limit-test", "5"});
  CHECK(data_flag_hint(limit, o, Split::Train) == "the limit is --limit-train 17");
  CHECK(data_flag_hint(limit, o, Split::Test) == "the limit is --limit-test 5");
  o = parse({});
  CHECK(data_flag_hint(limit, o, Split::Test) == "--limit-test sets the limit (none was given)");
  CHECK(data_flag_hint(ArgumentError("x", "other"), o, Split::Test).empty());

  // parse_device blames "name".
  const ArgumentError no_gpu("device: cuda requested but built without CUDA", "name");
  CHECK(with_flag_hint(no_gpu, device_flag_hint(no_gpu, parse({"--device", "cuda"}))) ==
        "device: cuda requested but built without CUDA; train_cifar10: --device cuda needs a "
        "usable GPU; --device auto or --device cpu runs on the CPU");

  // A resume with another setting: the flag that sets it, with the checkpoint's value.
  o = parse({"--resume", "runs/x/last.safetensors", "--batch-size", "256"});
  auto hint = [&](const std::string& setting, const std::string& saved, const std::string& now) {
    return resume_flag_hint(SettingMismatch("resume: ...", setting, saved, now), o);
  };
  CHECK(hint("momentum", "0", "0.9") == "resume with --momentum 0");
  CHECK(hint("momentum", "", "0.9") == "the setting momentum is --momentum (now 0.9)");
  CHECK(hint("nesterov", "1", "0") == "resume without --no-nesterov");
  CHECK(hint("nesterov", "0", "1") == "resume with --no-nesterov");
  CHECK(hint("base_lr0", "0.1", "0.05") == "resume with --lr 0.1");
  CHECK(hint("group0.weight_decay", "0.0005", "0.001") == "resume with --weight-decay 0.0005");
  CHECK(hint("batch_size", "128", "256") == "resume with --batch-size 128");
  CHECK(hint("steps_per_epoch", "391", "196") ==
        "resume with the --batch-size, --limit-train and data of the run that wrote "
        "runs/x/last.safetensors (now --batch-size 256)");
  CHECK(hint("epochs", "40", "60") ==
        "resume with --epochs 40, or start a new run with --epochs 60");
  CHECK(hint("type", "Adam", "SGD").empty());  // no flag chooses the optimizer
  const SettingMismatch epochs("resume: f belongs to a run of 40 epochs ...", "epochs", "40", "60");
  CHECK(with_flag_hint(epochs, resume_flag_hint(epochs, o)) ==
        "resume: f belongs to a run of 40 epochs ...; train_cifar10: resume with --epochs 40, or "
        "start a new run with --epochs 60");
  CHECK(with_flag_hint(epochs, "") == std::string(epochs.what()));
}

// ---- the output folder -------------------------------------------------------------------------

TEST_CASE("a run folder has one owner: RunLock refuses a second while the first lives",
          "[cpu][run_files][safety]") {
  const fs::path dir = fresh_dir("run_lock");
  const std::string out = dir.string();
  {
    RunLock owner = prepare_output_folder(out, ExistingRun::Refuse);
    REQUIRE(owner.held());
    CHECK(read_text(dir / ".lock") == std::to_string(::getpid()) + "\n");
    const std::string in_use = "--out '" + out + "' is in use by another training run (process " +
                               std::to_string(::getpid()) + " holds " + out +
                               "/.lock): wait for it to end, or choose another --out; nothing "
                               "was changed";
    // flock locks belong to an open file, so a second open in this process conflicts too.
    for (ExistingRun how : {ExistingRun::Refuse, ExistingRun::Resume, ExistingRun::Overwrite}) {
      CHECK(error_of([&] { prepare_output_folder(out, how); }) == in_use);
    }
    RunLock moved = std::move(owner);
    CHECK(moved.held());
    CHECK_FALSE(owner.held());
    CHECK(error_of([&] { RunLock second(out); }) == in_use);
  }
  // Released with its owner: the next run takes it.
  const RunLock next(out);
  CHECK(next.held());
}

TEST_CASE("prepare_output_folder refuses a folder that holds a run unless resuming or overwriting",
          "[cpu][run_files][safety]") {
  const fs::path dir = fresh_dir("holds_run");
  const std::string out = dir.string();
  prepare_output_folder(out, ExistingRun::Refuse);  // empty: fine
  write_text(dir / "metrics.csv", std::string(kMetricsHeader) + "\n1,0.1,2,0.1,2,0.1,1,1,,\n");
  write_text(dir / "last.safetensors", "checkpoint bytes");
  CHECK(error_of([&] { prepare_output_folder(out, ExistingRun::Refuse); }) ==
        "--out '" + out + "' already holds a run (metrics.csv, last.safetensors); pass --resume " +
            out +
            "/last.safetensors to continue it, --overwrite to replace it, or choose another --out");
  CHECK(read_text(dir / "last.safetensors") == "checkpoint bytes");  // untouched
  prepare_output_folder(out, ExistingRun::Resume);
  prepare_output_folder(out, ExistingRun::Overwrite);
  CHECK(fs::exists(dir / "metrics.csv"));  // removed only once everything else checked out
  remove_run_files(out);
  CHECK_FALSE(fs::exists(dir / "metrics.csv"));
  CHECK_FALSE(fs::exists(dir / "last.safetensors"));
  prepare_output_folder(out, ExistingRun::Refuse);

  // metrics.csv alone (a run killed before its first checkpoint) is a run too.
  write_text(dir / "metrics.csv", std::string(kMetricsHeader) + "\n");
  CHECK_THAT(error_of([&] { prepare_output_folder(out, ExistingRun::Refuse); }),
             Catch::Contains("already holds a run (metrics.csv); pass --overwrite to replace it"));
}

TEST_CASE(
    "prepare_output_folder refuses run files that are folders and a file or empty name as --out",
    "[cpu][run_files][safety]") {
  const fs::path dir = fresh_dir("metrics_dir");
  fs::create_directories(dir / "metrics.csv");
  for (ExistingRun mode : {ExistingRun::Refuse, ExistingRun::Resume, ExistingRun::Overwrite}) {
    CHECK(error_of([&] { prepare_output_folder(dir.string(), mode); }) ==
          "--out '" + dir.string() + "': " + dir.string() +
              "/metrics.csv is a directory, so the "
              "run could not write it; remove or rename it, or choose another --out");
  }
  fs::remove(dir / "metrics.csv");
  fs::create_directories(dir / "best.safetensors");
  CHECK_THAT(error_of([&] { prepare_output_folder(dir.string(), ExistingRun::Resume); }),
             Catch::Contains("best.safetensors is a directory"));

  write_text(dir / "plain_file", "x");
  const std::string file = (dir / "plain_file").string();
  CHECK(error_of([&] { prepare_output_folder(file, ExistingRun::Refuse); }) ==
        "--out '" + file +
            "' is a file, not a folder; choose a folder for metrics.csv and the "
            "checkpoints (it is created when missing)");
  CHECK_THAT(error_of([&] { prepare_output_folder(file + "/sub", ExistingRun::Refuse); }),
             Catch::StartsWith("--out '" + file + "/sub' cannot be created: Not a directory"));
  CHECK_THAT(error_of([&] { prepare_output_folder("", ExistingRun::Refuse); }),
             Catch::StartsWith("--out is empty"));
}

TEST_CASE("prepare_output_folder proves the folder writable before training",
          "[cpu][run_files][safety]") {
  const fs::path dir = fresh_dir("read_only");
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  CHECK(error_as_unprivileged([&] { prepare_output_folder(dir.string(), ExistingRun::Refuse); }) ==
        "--out '" + dir.string() +
            "' is not writable (cannot create a file in it: Permission "
            "denied); choose another --out or fix the folder's permissions");
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
  prepare_output_folder(dir.string(), ExistingRun::Refuse);
  // The probe file is gone; the run folder's lock (RunLock) is all that stays.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  CHECK(fs::exists(dir / ".lock"));
}

// ---- --resume ----------------------------------------------------------------------------------

TEST_CASE("check_resume_file gives each bad --resume path its own message",
          "[cpu][run_files][safety]") {
  const fs::path dir = fresh_dir("resume_paths");
  CHECK_THAT(error_of([&] { check_resume_file(""); }),
             Catch::StartsWith("--resume needs a checkpoint file"));
  const std::string missing = (dir / "nope.safetensors").string();
  CHECK(error_of([&] { check_resume_file(missing); }) ==
        "--resume '" + missing +
            "' does not exist; give a checkpoint file such as "
            "runs/cifar10/last.safetensors, or leave --resume out to start a new run");
  CHECK(error_of([&] { check_resume_file(dir.string()); }) ==
        "--resume '" + dir.string() +
            "' is a directory; give the checkpoint file (a .safetensors file)");
  write_text(dir / "last.safetensors", "x");
  CHECK(error_of([&] { check_resume_file(dir.string()); }) ==
        "--resume '" + dir.string() + "' is a directory; give the checkpoint file, e.g. --resume " +
            (dir / "last.safetensors").string());
  write_text(dir / "empty.safetensors", "");
  CHECK_THAT(error_of([&] { check_resume_file((dir / "empty.safetensors").string()); }),
             Catch::Contains("is empty (0 bytes), not a checkpoint"));
  fs::permissions(dir / "last.safetensors", fs::perms::none);
  CHECK_THAT(error_as_unprivileged([&] { check_resume_file((dir / "last.safetensors").string()); }),
             Catch::Contains("cannot be read: Permission denied"));
  REQUIRE(::mkfifo((dir / "pipe.safetensors").c_str(), 0644) == 0);
  CHECK_THAT(error_of([&] { check_resume_file((dir / "pipe.safetensors").string()); }),
             Catch::Contains("is not a regular file; give a .safetensors checkpoint"));
}

TEST_CASE("parse_best_accuracy names a checkpoint whose best_val_acc is not an accuracy",
          "[cpu][run_files][safety]") {
  CHECK(parse_best_accuracy("c.safetensors", "best_val_acc", "0.912300") == Approx(0.9123));
  for (const std::string bad : {"abc", "", "1.5", "-0.1", "nan", "0.9x"}) {
    CHECK(error_of([&] { parse_best_accuracy("c.safetensors", "best_val_acc", bad); }) ==
          "checkpoint c.safetensors: metadata best_val_acc = '" + bad +
              "' is not an accuracy "
              "between 0 and 1 (was the file edited, or written by another program?)");
  }
}

TEST_CASE("exact_accuracy keeps every bit of the accuracy it records", "[cpu][run_files][safety]") {
  // 6 decimals (std::to_string) would make 0.91234567 and 0.9123459 one value, and a resumed
  // run would then keep another best.safetensors than an uninterrupted one.
  for (const double accuracy : {0.0, 1.0, 0.91234567, 0.9123459, 1.0 / 3.0, 4999.0 / 5000.0}) {
    CHECK(parse_best_accuracy("c", "best_val_acc", exact_accuracy(accuracy)) == accuracy);
  }
}

// ---- metrics.csv -------------------------------------------------------------------------------

namespace {
// A row as train_cifar10 writes it with --validation (the last two columns).
std::string row(int epoch) {
  return std::to_string(epoch) + ",0.1,2.3,0.1,2.2,0.12,1.5,100,2.25,0.11";
}
std::string header() { return std::string(kMetricsHeader) + "\n"; }
}  // namespace

TEST_CASE("reconcile_metrics keeps every row train_cifar10 writes, and the older 8-column rows",
          "[cpu][run_files][safety]") {
  // Without --validation the last two columns are empty; versions before them wrote 8 columns,
  // and a run they started must resume with its rows.
  const std::string without_validation = "2,0.1,2.3,0.1,2.2,0.12,1.5,100,,";
  const std::string older = "3,0.1,2.3,0.1,2.2,0.12,1.5,100";
  const fs::path path = fresh_dir("reconcile_formats") / "metrics.csv";
  write_text(path, header() + row(1) + "\n" + without_validation + "\n" + older + "\n");
  const MetricsRepair repair = reconcile_metrics(path.string(), 3);
  CHECK(repair.rows_kept == 3);
  CHECK(repair.broken_lines == 0);
  CHECK_FALSE(repair.changed());
  CHECK(read_text(path) == header() + row(1) + "\n" + without_validation + "\n" + older + "\n");
  // One column too many or too few is not a row.
  write_text(path, header() + row(1) + ",x\n" + "2,0.1,2.3\n");
  CHECK(reconcile_metrics(path.string(), 0).broken_lines == 2);
}

TEST_CASE("reconcile_metrics drops rows after the checkpoint and duplicates",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_rows") / "metrics.csv";
  // An older checkpoint (epoch 2) resumed into a folder with rows up to 4, one of them twice.
  write_text(path, header() + row(1) + "\n" + row(2) + "\n" + row(3) + "\n" + row(2) + "\n" +
                       row(4) + "\n");
  const MetricsRepair repair = reconcile_metrics(path.string(), 2);
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n");
  CHECK(repair.rows_kept == 2);
  CHECK(repair.rows_after_checkpoint == 2);
  CHECK(repair.duplicate_rows == 1);
  CHECK(repair.describe() == "dropped 2 row(s) after the checkpoint's epoch (they are trained "
                             "again); dropped 1 duplicate row(s); the original is in " +
                                 path.string() + ".bak");
  // Repairs never destroy: the whole original is kept beside it.
  CHECK(read_text(path.string() + ".bak") ==
        header() + row(1) + "\n" + row(2) + "\n" + row(3) + "\n" + row(2) + "\n" + row(4) + "\n");
  // Nothing wrong: nothing rewritten, nothing to say.
  const auto stamp = fs::last_write_time(path);
  const MetricsRepair again = reconcile_metrics(path.string(), 2);
  CHECK_FALSE(again.changed());
  CHECK(again.describe().empty());
  CHECK(fs::last_write_time(path) == stamp);
}

TEST_CASE("reconcile_metrics reads CRLF line ends and a byte-order mark as what they are",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_crlf") / "metrics.csv";
  const std::string original =
      "\xEF\xBB\xBF" + std::string(kMetricsHeader) + "\r\n" + row(1) + "\r\n" + row(2) + "\r\n";
  write_text(path, original);
  const MetricsRepair repair = reconcile_metrics(path.string(), 2);
  CHECK(repair.rows_kept == 2);
  CHECK(repair.broken_lines == 0);
  CHECK_FALSE(repair.header_restored);
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n");
  CHECK(read_text(path.string() + ".bak") == original);
}

TEST_CASE("reconcile_metrics refuses a file it cannot read as metrics, and leaves it alone",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_semicolons") / "metrics.csv";
  // Saved by a spreadsheet with ';' separators: every line would be "malformed" and dropped.
  const std::string original =
      "epoch;lr;train_loss;train_acc;test_loss;test_acc;seconds;images_per_sec\n"
      "1;0.1;2.3;0.1;2.2;0.12;1.5;100\n";
  write_text(path, original);
  CHECK(error_of([&] { reconcile_metrics(path.string(), 1); }) ==
        path.string() + " does not start with train_cifar10's header (" + kMetricsHeader +
            "), and its first line has ';' separators (saved by a spreadsheet?): it was left "
            "unchanged; restore it, or move it away to start the file afresh");
  CHECK(read_text(path) == original);
  CHECK_FALSE(fs::exists(path.string() + ".bak"));
  // An older version's header is brought up to date, its rows kept.
  write_text(path, std::string(kOlderMetricsHeader) + "\n1,0.1,2.3,0.1,2.2,0.12,1.5,100\n");
  CHECK(reconcile_metrics(path.string(), 1).rows_kept == 1);
  CHECK(read_text(path) == header() + "1,0.1,2.3,0.1,2.2,0.12,1.5,100\n");
}

TEST_CASE("two different rows for one epoch: the checkpoint's record decides, or nothing changes",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_conflict") / "metrics.csv";
  const std::string other = "2,0.1,9.9,0.1,2.2,0.12,1.5,100,2.25,0.11";
  const std::string original = header() + row(1) + "\n" + other + "\n" + row(2) + "\n";
  write_text(path, original);
  CHECK(error_of([&] { reconcile_metrics(path.string(), 2); }) ==
        path.string() + " has 2 different rows for epoch 2 and the checkpoint does not record "
                        "which is right: it was left unchanged; keep the right row and delete "
                        "the others");
  CHECK(read_text(path) == original);
  const std::map<int64_t, std::string> recorded{{1, row(1)}, {2, row(2)}};
  const MetricsRepair repair = reconcile_metrics(path.string(), 2, recorded);
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n");
  CHECK(repair.duplicate_rows == 1);
  CHECK(read_text(path.string() + ".bak") == original);
  // A record that holds neither row: refused.
  write_text(path, original);
  CHECK_THAT(error_of([&] {
               reconcile_metrics(path.string(), 2, {{2, row(7)}});
             }),
             Catch::Contains("none is the one the checkpoint recorded"));
  CHECK(read_text(path) == original);
}

TEST_CASE("rows metrics.csv lost come back from the checkpoint's record",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_restore") / "metrics.csv";
  write_text(path, header() + row(1) + "\n");
  const std::map<int64_t, std::string> recorded{{1, row(1)}, {2, row(2)}, {3, row(3)}};
  const MetricsRepair repair = reconcile_metrics(path.string(), 3, recorded);
  CHECK(repair.restored_rows == 2);
  CHECK(repair.missing_epochs.empty());
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n" + row(3) + "\n");
  CHECK_THAT(repair.describe(), Catch::Contains("restored 2 row(s) from the checkpoint's record"));
  // The record travels in the checkpoint's metadata as text, and comes back whole.
  CHECK(decode_rows(encode_rows(recorded)) == recorded);
  CHECK(decode_rows("not a row\n" + row(4)).size() == 1);
}

TEST_CASE("reconcile_metrics restores a missing header and drops a line cut short by a kill",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("reconcile_header") / "metrics.csv";
  write_text(path, row(1) + "\n" + row(2) + "\n3,0.1,2.");  // no header, a torn last row
  const MetricsRepair repair = reconcile_metrics(path.string(), 3);
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n");
  CHECK(repair.header_restored);
  CHECK(repair.broken_lines == 1);
  CHECK(repair.missing_epochs == std::vector<int64_t>{3});
  CHECK_THAT(repair.describe(), Catch::Contains("restored the missing header") &&
                                    Catch::Contains("no row for completed epoch(s) 3"));
  // A whole-looking row without its newline is torn too: its last number may be cut short.
  write_text(path, header() + row(1) + "\n" + row(2));
  CHECK(reconcile_metrics(path.string(), 2).broken_lines == 1);
  CHECK(read_text(path) == header() + row(1) + "\n");
  // An empty file (killed before the header reached the disk) and a missing one.
  write_text(path, "");
  CHECK(reconcile_metrics(path.string(), 0).header_restored);
  CHECK(read_text(path) == header());
  fs::remove(path);
  CHECK(reconcile_metrics(path.string(), 0).created);
  CHECK(read_text(path) == header());
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST_CASE("MetricsLog writes the header at once and checks every row it writes",
          "[cpu][run_files][safety]") {
  const fs::path path = fresh_dir("metrics_log") / "metrics.csv";
  {
    MetricsLog log(path.string());
    CHECK(read_text(path) == header());  // before any epoch finishes
    log.append(row(1));
    CHECK(read_text(path) == header() + row(1) + "\n");
  }
  MetricsLog reopened(path.string());  // appends, no second header
  reopened.append(row(2));
  CHECK(read_text(path) == header() + row(1) + "\n" + row(2) + "\n");
  // A device that refuses every write: the failure is an error, not a silently missing row.
  if (fs::exists("/dev/full")) {
    CHECK(error_of([] { MetricsLog full("/dev/full"); }) ==
          "writing a row to /dev/full failed: No space left on device (disk full?)");
  }
}

// ---- resume: the settings the continuation depends on -------------------------------------------

TEST_CASE("a resume under other recorded settings is refused by the flag that differs",
          "[cpu][run_files][safety]") {
  TrainOptions o;
  std::map<std::string, std::string> metadata;
  record_settings(recorded_settings(o, false), metadata);
  CHECK(metadata.at("train.warmup") == "0.15");  // as typed, and exactly this float
  CHECK(metadata.at("preset") == "resnet");
  CHECK_NOTHROW(check_recorded_settings("c", metadata, recorded_settings(o, false)));
  const auto refused = [&](TrainOptions changed, bool resident = false) {
    return error_of(
        [&] { check_recorded_settings("c", metadata, recorded_settings(changed, resident)); });
  };
  TrainOptions t = o;
  t.warmup_fraction = 0.2f;
  CHECK(refused(t) == "--warmup 0.2, but c was trained with --warmup 0.15 (the learning-rate "
                      "schedule): resume with --warmup 0.15");
  t = o;
  t.schedule = "cosine";
  CHECK(refused(t) == "--schedule cosine, but c was trained with --schedule onecycle (the "
                      "learning-rate schedule): resume with --schedule onecycle");
  t = o;
  t.seed = 2;
  CHECK(refused(t) == "--seed 2, but c was trained with --seed 1 (the order and augmentation of "
                      "every later epoch): resume with --seed 1");
  t = o;
  t.dropout = 0.1f;  // was: a missing-tensor message that did not name the flag
  CHECK(refused(t) == "--dropout 0.1, but c was trained with --dropout 0 (the model): resume with "
                      "--dropout 0");
  t = o;
  t.limit_test = 500;
  CHECK(refused(t) == "--limit-test 500, but c was trained without --limit-test (the test "
                      "images): resume without --limit-test");
  CHECK(refused(o, true) == "--loader resident, but c was trained with --loader host (other "
                            "random shifts and flips): resume with --loader host");
  for (auto change : std::vector<std::function<void(TrainOptions&)>>{
           [](TrainOptions& x) { x.label_smoothing = 0.f; }, [](TrainOptions& x) { x.cutout = 0; },
           [](TrainOptions& x) { x.translate = 2; }, [](TrainOptions& x) { x.tta = 2; },
           [](TrainOptions& x) { x.limit_train = 100; }, [](TrainOptions& x) { x.validation = 10; },
           [](TrainOptions& x) { x.preset = "fast94"; }}) {
    t = o;
    change(t);
    CHECK(refused(t) != "(no error)");
  }
  // An older checkpoint: only the settings with one possible value then are compared.
  const std::map<std::string, std::string> older{{"epoch", "3"}};
  t = o;
  t.seed = 7;
  CHECK_NOTHROW(check_recorded_settings("old", older, recorded_settings(t, false)));
  t.validation = 5;
  CHECK(error_of([&] { check_recorded_settings("old", older, recorded_settings(t, false)); }) ==
        "--validation 5, but old was trained with --validation 0 (other images held out): "
        "resume with --validation 0");
}

TEST_CASE("a resume on other data, or from a checkpoint whose counters disagree, is refused",
          "[cpu][run_files][safety]") {
  Cifar10 train, test;
  train.pixels.assign(3 * Cifar10::kImageBytes, 7);
  train.labels = {1, 2, 3};
  test.pixels.assign(Cifar10::kImageBytes, 9);
  test.labels = {4};
  const std::string fingerprint = data_fingerprint(train, Cifar10{}, test);
  CHECK_THAT(fingerprint, Catch::StartsWith("train 3 validation 0 test 1 hash "));
  const std::map<std::string, std::string> metadata{{"train.data", fingerprint}};
  CHECK_NOTHROW(check_data_fingerprint("c", metadata, fingerprint));
  train.pixels[2 * Cifar10::kImageBytes + 5] = 8;  // one byte of the last image
  CHECK_THAT(error_of([&] {
               check_data_fingerprint("c", metadata, data_fingerprint(train, Cifar10{}, test));
             }),
             Catch::StartsWith("the data differs from the run that wrote c (then: train 3 "
                               "validation 0 test 1 hash ") &&
                 Catch::EndsWith("resume with that run's --data, --limit-train and --limit-test"));
  CHECK_NOTHROW(check_data_fingerprint("old", {}, fingerprint));  // not recorded: not compared

  CHECK_NOTHROW(check_counters("c", 3, 40, 49, 147, 147));
  CHECK(error_of([&] { check_counters("c", 3, 40, 49, 147, 150); }) ==
        "checkpoint c: its counters disagree: 3 epochs of 49 steps ('run.steps_per_epoch') are "
        "147 steps, but 'scheduler.steps' = 150 (was the file edited?); nothing was changed");
  CHECK_THAT(error_of([&] { check_counters("c", 3, 40, 49, 146, 147); }),
             Catch::Contains("but 'optimizer.steps' = 146"));
  CHECK_THAT(error_of([&] { check_counters("c", 41, 40, 49, 41 * 49, 41 * 49); }),
             Catch::Contains("'epoch' = 41 is beyond the run's 40 epochs ('run.epochs')"));
}
