#pragma once
// Events the integration layer POSTs to /messages (PROTOCOL.md §3), and their decoder.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace parley::channel {

struct Attachment {
  std::string url;
  std::optional<std::string> content_type;
  std::optional<std::string> file_name;
  std::optional<int64_t> size;
};

struct CustomerText {
  std::string customer_id;
  std::string message_id;
  std::vector<std::string> text;
  std::optional<std::string> customer_name;
  std::optional<std::string> postback;
  std::vector<Attachment> attachments;
  boost::json::object context_data;
};

struct CustomerTyping {
  std::string customer_id;
};

struct CustomerEndSession {
  std::string customer_id;
  std::optional<std::string> message_id;
};

using InboundEvent = std::variant<CustomerText, CustomerTyping, CustomerEndSession>;

inline constexpr size_t kMaxIdLength = 256;
inline constexpr size_t kMaxNameLength = 256;
inline constexpr size_t kMaxPostbackLength = 1024;
inline constexpr size_t kMaxAttachments = 10;
inline constexpr size_t kMaxContextBytes = 4096;
inline constexpr size_t kMaxUrlLength = 2048;

// Decodes one event from a request body. Fails with kInvalidArgument and a code of
// invalid_json, invalid_payload, unknown_type, missing_field or invalid_field, and a message
// naming the field. Unknown fields are ignored, so newer clients keep working.
Result<InboundEvent> DecodeInbound(std::string_view body);

const std::string& CustomerIdOf(const InboundEvent& event);

boost::json::value ToJson(const Attachment& a);
Result<Attachment> DecodeAttachment(const boost::json::value& v, std::string_view where);

}  // namespace parley::channel
