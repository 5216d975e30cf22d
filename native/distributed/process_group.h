// A Gloo process group: rank, world size, the full mesh of TCP pairs, and the collectives nodegrad
// uses, on float32 buffers. Plain C++ (no Node-API); every failure is a std::runtime_error whose
// message names what failed and, where Gloo's message lets us, which rank was lost.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace gloo {
class Context;
}

namespace nodegrad {

enum class ReduceOp { Sum, Mean, Product, Min, Max };

struct Rendezvous {
  // TCP store served by rank 0 (host, port), or Gloo's FileStore in `path` when path is set.
  std::string host;
  int port = 0;
  std::string path;
  // The interface or address this rank's pairs listen on: an address/hostname, or an interface
  // name (GLOO_SOCKET_IFNAME); empty picks 127.0.0.1 for a loopback master, the hostname otherwise.
  std::string hostname;
  std::string iface;
};

class ProcessGroup {
 public:
  ProcessGroup(int rank, int size, std::chrono::milliseconds timeout);
  ~ProcessGroup();

  // Rendezvous and connect every pair; blocks up to the timeout.
  void connect(const Rendezvous& how);
  void allReduce(float* data, size_t n, ReduceOp op);
  void broadcast(float* data, size_t n, int root);
  void barrier();
  void close();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool connected() const { return context_ != nullptr; }

 private:
  // Gloo's message, with the lost peer's address replaced by its rank and a timeout stated as one.
  std::string explain(const char* what, const std::exception& e) const;
  void requireConnected(const char* what) const;

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<gloo::Context> context_;
  // peers_[i]: rank i's listening addresses as Gloo's messages print them ("[127.0.0.1]:41234").
  std::vector<std::vector<std::string>> peers_;
};

}  // namespace nodegrad
