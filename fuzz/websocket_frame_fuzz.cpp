// libFuzzer target: the WebSocket frame reader on the server side, as http/websocket_session.cpp
// configures it (server role, 64 KiB message limit, no compression). The input is what a client
// sends after the handshake — frame headers, masks, lengths, fragments, control frames, close
// codes — read message by message until the stream fails. The session itself reads from a TCP
// socket, so this drives Beast's stream with the same settings over Beast's in-memory test
// stream, after a fixed, valid upgrade request. Issue 17.
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace beast = boost::beast;
namespace websocket = beast::websocket;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::string_view kUpgrade =
      "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  constexpr size_t kMaxMessage = 64 * 1024;
  boost::asio::io_context io;
  beast::test::stream server(io);
  beast::test::stream client(io);
  server.connect(client);
  websocket::stream<beast::test::stream&> ws(server);
  ws.read_message_max(kMaxMessage);
  ws.text(true);
  server.append(kUpgrade);
  beast::error_code ec;
  ws.accept(ec);
  if (ec) std::abort();  // the fixed handshake must pass
  server.append(std::string_view(reinterpret_cast<const char*>(data), size));
  server.close_remote();  // then end of stream: every read finishes
  beast::flat_buffer buffer;
  for (int i = 0; i < 64; ++i) {
    ws.read(buffer, ec);
    if (ec) break;
    if (buffer.size() > kMaxMessage) std::abort();  // the limit must hold
    buffer.clear();
  }
  return 0;
}
