// The floor: an HTTP/1.1 keep-alive server that does nothing but answer every request with the
// same `200 {"status":"accepted"}` Parley sends. bench/run drives it with the same load
// generator as Parley, so the gap between the two is what Parley itself costs, and this
// server's figure is what the machine, its kernel's loopback TCP and the load generator allow
// at best. Raw epoll, non-blocking sockets, one thread per core (SO_REUSEPORT), no
// allocation per request. Loopback only; a benchmark tool, not part of the service.
//
// Usage: floor_server [--port N] [--threads N]   (prints "listening on http://127.0.0.1:PORT")

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
    "{\"status\":\"accepted\"}";
constexpr size_t kMaxRequestBytes = 1 << 20;  // a client sending more is dropped

struct Conn {
  int fd;
  std::string in;   // bytes read, not yet answered
  std::string out;  // answers not yet written
};

// The body length named by a Content-Length header in `head`, or 0.
size_t ContentLength(std::string_view head) {
  constexpr std::string_view kName = "content-length:";
  for (size_t pos = 0; pos < head.size();) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    if (line.size() > kName.size()) {
      bool match = true;
      for (size_t i = 0; i < kName.size() && match; ++i)
        match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
      if (match) return std::strtoull(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
    }
    pos = eol + 2;
  }
  return 0;
}

// Answers every complete request in c.in; false when the request is malformed or too large.
bool AnswerComplete(Conn& c) {
  size_t start = 0;
  for (;;) {
    size_t head_end = c.in.find("\r\n\r\n", start);
    if (head_end == std::string::npos) break;
    size_t total = head_end + 4 - start + ContentLength({c.in.data() + start, head_end - start});
    if (c.in.size() - start < total) break;
    c.out.append(kResponse);
    start += total;
  }
  c.in.erase(0, start);
  return c.in.size() <= kMaxRequestBytes;
}

// Writes what c.out holds; false on a hard error.
bool Flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

int Listen(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0) {
    std::perror("floor_server: bind/listen");
    std::exit(1);
  }
  return fd;
}

void Serve(int listener) {
  int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  std::vector<epoll_event> events(256);
  char buf[16384];
  auto close_conn = [&](int fd) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns.erase(fd);
  };
  for (;;) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          int cfd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (cfd < 0) break;
          int one = 1;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLET;
          cev.data.fd = cfd;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
          conns.emplace(cfd, std::make_unique<Conn>(Conn{cfd, {}, {}}));
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      bool ok = true;
      bool closed = false;
      if (events[i].events & EPOLLIN) {
        for (;;) {  // edge-triggered: read until the socket is empty
          ssize_t r = ::recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0) closed = true;
          if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ok = false;
          break;
        }
        ok = ok && AnswerComplete(c);
      }
      ok = ok && Flush(c);
      if (!ok || (closed && c.out.empty()) || (events[i].events & (EPOLLERR | EPOLLHUP)))
        close_conn(fd);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--port")
      port = static_cast<uint16_t>(std::atoi(argv[i + 1]));
    else if (flag == "--threads")
      threads = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: floor_server [--port N] [--threads N]\n");
      return 2;
    }
  }
  // The first socket picks the port; the others join it (the kernel spreads connections).
  std::vector<int> listeners{Listen(port)};
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listeners[0], reinterpret_cast<sockaddr*>(&bound), &len);
  port = ntohs(bound.sin_port);
  for (int t = 1; t < threads; ++t) listeners.push_back(Listen(port));
  std::printf("listening on http://127.0.0.1:%u\n", port);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int fd : listeners) pool.emplace_back([fd] { Serve(fd); });
  for (auto& t : pool) t.join();
}
