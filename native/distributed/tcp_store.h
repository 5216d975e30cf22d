// A client of the rendezvous key-value store that rank 0 serves from Node (lib/distributed/store.ts)
// behind Gloo's Store interface, so Gloo's connectFullMesh can exchange the ranks' addresses over
// TCP (Debian's Gloo has file, hash and redis stores, none over plain TCP).
//
// Wire format, every integer a little-endian u32:
//   request  = op (1 byte: 'S' set, 'G' get, 'W' wait) | key length | key | value length | value
//   response = status (1 byte: 0 ok) | length | data      ('G' and 'W' are answered once the key exists)
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "gloo/rendezvous/store.h"

namespace nodegrad {

class TcpStore : public gloo::rendezvous::Store {
 public:
  // Connects to host:port, retrying refused connections until `timeout` has passed: the ranks start
  // in any order, and rank 0's server may come up after the others try it.
  TcpStore(const std::string& host, int port, std::chrono::milliseconds timeout);
  ~TcpStore() override;

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  std::vector<char> request(char op, const std::string& key, const std::vector<char>& value,
                            std::chrono::milliseconds timeout);
  void sendAll(const char* p, size_t n, std::chrono::steady_clock::time_point deadline);
  void recvAll(char* p, size_t n, std::chrono::steady_clock::time_point deadline, const std::string& key);

  int fd_ = -1;
  std::string where_;
  std::chrono::milliseconds timeout_;
};

// Rank i's keys in Gloo's connectFullMesh ("rank_3", "3") -> "rank 3", for messages.
std::string describeKey(const std::string& key);

}  // namespace nodegrad
