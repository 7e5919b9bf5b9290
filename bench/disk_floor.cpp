// The disk's floor: how long one durable append takes on the file system that holds the
// database. Appends `--bytes` (default 4096, one page) to a fresh file and fdatasyncs it,
// `--count` times in a row, and prints the latency percentiles. A durable Parley answer waits
// for at least one such flush (the group commit's), so an answer's latency cannot be below
// this, and its tail follows this tail. A benchmark tool, not part of the service.
//
// Usage: disk_floor --dir DIR [--count N] [--bytes N]

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::string dir;
  long count = 2000;
  long bytes = 4096;
};

bool ParseLong(const char* text, long min, long max, long& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  out = v;
  return true;
}

int Usage(const char* problem) {
  std::fprintf(stderr,
               "disk_floor: %s\nusage: disk_floor --dir DIR [--count 1..1000000] "
               "[--bytes 1..16777216]\n",
               problem);
  return 2;
}

double Quantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) return Usage("every option takes a value");
    const char* value = argv[++i];
    if (arg == "--dir") {
      o.dir = value;
    } else if (arg == "--count") {
      if (!ParseLong(value, 1, 1000000, o.count)) return Usage("--count is out of range");
    } else if (arg == "--bytes") {
      if (!ParseLong(value, 1, 16 << 20, o.bytes)) return Usage("--bytes is out of range");
    } else {
      return Usage("unknown option");
    }
  }
  if (o.dir.empty()) return Usage("give --dir, the folder to measure");

  std::string path = o.dir + "/disk_floor.XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) {
    std::fprintf(stderr, "disk_floor: cannot create a file in %s: %s\n", o.dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::vector<char> block(static_cast<size_t>(o.bytes), 'p');
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(o.count));
  int status = 0;
  for (long i = 0; i < o.count; ++i) {
    auto began = std::chrono::steady_clock::now();
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      std::fprintf(stderr, "disk_floor: append %ld failed: %s\n", i, std::strerror(errno));
      status = 1;
      break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
                     .count());
  }
  close(fd);
  unlink(path.c_str());
  if (ms.empty()) return status;
  std::sort(ms.begin(), ms.end());
  double total = 0;
  for (double v : ms) total += v;
  std::printf("  %zu appends of %ld bytes, each followed by fdatasync, in %s\n", ms.size(), o.bytes,
              o.dir.c_str());
  std::printf("  latency          p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n",
              Quantile(ms, 0.5), Quantile(ms, 0.9), Quantile(ms, 0.99), Quantile(ms, 0.999),
              ms.back());
  std::printf("  flushes          %.0f a second, one after another\n",
              static_cast<double>(ms.size()) / (total / 1000.0));
  return status;
}
