// Handoff: the continuations of a batch reach each executor in one post, in order.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace parley::storage {
namespace {

TEST(Handoff, PostsOncePerExecutorAndKeepsTheOrder) {
  boost::asio::io_context a;
  boost::asio::io_context b;
  std::vector<std::string> ran_a;
  std::vector<std::string> ran_b;
  {
    Handoff handoff;
    handoff.Add(a.get_executor(), [&] { ran_a.push_back("a1"); });
    handoff.Add(b.get_executor(), [&] { ran_b.push_back("b1"); });
    handoff.Add(a.get_executor(), [&] { ran_a.push_back("a2"); });
    handoff.Add(a.get_executor(), [&] { ran_a.push_back("a3"); });
    handoff.Post();
    // Nothing runs on the thread that hands off.
    EXPECT_TRUE(ran_a.empty());
    EXPECT_TRUE(ran_b.empty());
  }
  // run() counts the handlers it executed: one per executor, however many were added.
  EXPECT_EQ(a.run(), 1u);
  EXPECT_EQ(b.run(), 1u);
  EXPECT_EQ(ran_a, (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(ran_b, (std::vector<std::string>{"b1"}));
}

TEST(Handoff, PostsWhatIsLeftWhenDestroyedAndNothingTwice) {
  boost::asio::io_context a;
  int ran = 0;
  {
    Handoff handoff;
    handoff.Add(a.get_executor(), [&] { ++ran; });
    handoff.Post();
    handoff.Add(a.get_executor(), [&] { ++ran; });
  }  // the second is posted here
  EXPECT_EQ(a.run(), 2u);
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace parley::storage
