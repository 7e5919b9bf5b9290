#pragma once
// Shared helpers for the core-layer unit tests: temporary directories, awaiting a coroutine
// from a test body, waiting for a condition with a deadline, and a temp-file SQLite store.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "storage/secret_box.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::testing {

// A fresh directory under the system temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley-unit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `aw` on `io` from the calling thread (which must be the only one running `io`) until it
// finishes, and returns its value. Fails the test and throws when it takes past `deadline`.
template <class T>
T Await(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
        std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto fut = boost::asio::co_spawn(io, std::move(aw), boost::asio::use_future);
  auto until = std::chrono::steady_clock::now() + deadline;
  io.restart();
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > until) {
      ADD_FAILURE() << "coroutine did not finish within the deadline";
      throw std::runtime_error("Await deadline passed");
    }
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return fut.get();
}

// Runs `aw` on an executor that other threads drive, and waits for its value.
template <class T, class Executor>
T AwaitOn(const Executor& ex, boost::asio::awaitable<T> aw,
          std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto fut = boost::asio::co_spawn(ex, std::move(aw), boost::asio::use_future);
  if (fut.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "coroutine did not finish within the deadline";
    throw std::runtime_error("AwaitOn deadline passed");
  }
  return fut.get();
}

// Polls `done` until it holds or `deadline` passes; returns its last value.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline std::unique_ptr<storage::sqlite::SqliteStore> OpenSqlite(
    const std::string& path, std::string key = "",
    storage::sqlite::SqliteStoreOptions options = {}) {
  auto store =
      storage::sqlite::SqliteStore::Open(path, storage::SecretBox(std::move(key)), options);
  if (!store) {
    ADD_FAILURE() << "cannot open store " << path << ": " << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace parley::testing
