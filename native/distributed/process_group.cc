#include "process_group.h"

#include <dirent.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "gloo/allgather.h"
#include "gloo/allreduce.h"
#include "gloo/barrier.h"
#include "gloo/broadcast.h"
#include "gloo/math.h"
#include "gloo/rendezvous/context.h"
#include "gloo/rendezvous/file_store.h"
#include "gloo/transport/tcp/address.h"
#include "gloo/transport/tcp/device.h"
#include "tcp_store.h"

namespace nodegrad {

namespace {

// Wraps the rendezvous store: forwards every wait with our timeout (Gloo's FileStore would wait
// 30 s whatever the context's is) and names the ranks that did not join; and it keeps the addresses
// each rank published, since Gloo's transport errors name a lost peer by its address only.
class MeshStore : public gloo::rendezvous::Store {
 public:
  MeshStore(gloo::rendezvous::Store& inner, int size, std::chrono::milliseconds timeout)
      : inner_(inner), size_(size), timeout_(timeout) {
    addresses.resize(size);
  }
  void set(const std::string& key, const std::vector<char>& data) override { inner_.set(key, data); }
  std::vector<char> get(const std::string& key) override {
    std::vector<char> data = inner_.get(key);
    record(key, data);
    return data;
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    try {
      inner_.wait(keys, timeout);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (msg.rfind("rendezvous timed out", 0) == 0) throw;
      std::string who;
      for (const auto& k : keys) who += (who.empty() ? "" : ", ") + describeKey(k);
      throw std::runtime_error("rendezvous timed out: " + who + " did not join within " +
                               std::to_string(timeout.count()) + " ms (" + msg + ")");
    }
  }

  // addresses[i]: the listening addresses rank i published, as Gloo's messages print them.
  std::vector<std::vector<std::string>> addresses;

 private:
  // Key "3" is rank 3's addresses, one fixed-size one per other rank (Gloo's connectFullMesh layout).
  void record(const std::string& key, const std::vector<char>& data) {
    if (key.empty() || key.find_first_not_of("0123456789") != std::string::npos || size_ < 2) return;
    int i = std::atoi(key.c_str());
    size_t each = data.size() / static_cast<size_t>(size_ - 1);
    if (i < 0 || i >= size_ || each == 0) return;
    for (size_t off = 0; off + each <= data.size(); off += each) {
      try {
        addresses[i].push_back(
            gloo::transport::tcp::Address(std::vector<char>(data.begin() + off, data.begin() + off + each)).str());
      } catch (const std::exception&) {
      }
    }
  }

  gloo::rendezvous::Store& inner_;
  int size_;
  std::chrono::milliseconds timeout_;
};

// This process's TCP sockets' local addresses, as Gloo prints addresses. Gloo names a lost peer by
// the far end of the socket, which for a pair the peer connected is the peer's ephemeral port:
// only the peer itself knows it, so every rank shares this list once connected.
std::vector<std::string> localSocketNames() {
  std::vector<std::string> out;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  std::vector<int> fds;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    fds.push_back(std::atoi(e->d_name));
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) {
    int type = 0;
    socklen_t typeLen = sizeof(type);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLen) != 0 || type != SOCK_STREAM) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) continue;
    out.push_back(gloo::transport::tcp::Address(ss).str());
  }
  return out;
}

// Every rank's localSocketNames(), gathered over the new context: kSlots names of kSlot bytes a rank.
std::vector<std::vector<std::string>> gatherSocketNames(const std::shared_ptr<gloo::Context>& context) {
  constexpr size_t kSlot = 64, kSlots = 64;
  std::vector<char> mine(kSlot * kSlots, 0);
  std::vector<std::string> names = localSocketNames();
  // The newest sockets, Gloo's pairs among them, usually have the highest descriptors: a process with
  // more sockets than slots keeps those.
  size_t skip = names.size() > kSlots ? names.size() - kSlots : 0;
  for (size_t i = skip; i < names.size(); i++)
    std::strncpy(mine.data() + (i - skip) * kSlot, names[i].c_str(), kSlot - 1);
  std::vector<char> all(mine.size() * static_cast<size_t>(context->size));
  gloo::AllgatherOptions opts(context);
  opts.setInput(mine.data(), mine.size());
  opts.setOutput(all.data(), all.size());
  gloo::allgather(opts);
  std::vector<std::vector<std::string>> out(context->size);
  for (int r = 0; r < context->size; r++)
    for (size_t i = 0; i < kSlots; i++) {
      const char* name = all.data() + (static_cast<size_t>(r) * kSlots + i) * kSlot;
      if (name[0] != 0) out[r].emplace_back(name, strnlen(name, kSlot));
    }
  return out;
}

bool isLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

ProcessGroup::ProcessGroup(int rank, int size, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), timeout_(timeout) {}

ProcessGroup::~ProcessGroup() { close(); }

void ProcessGroup::connect(const Rendezvous& how) {
  if (context_) throw std::runtime_error("the process group is already connected");
  gloo::transport::tcp::attr attr;
  if (!how.iface.empty())
    attr.iface = how.iface;
  else if (!how.hostname.empty())
    attr.hostname = how.hostname;
  else
    attr.hostname = how.path.empty() && !isLoopback(how.host) ? "" : "127.0.0.1";
  std::shared_ptr<gloo::transport::Device> device;
  try {
    device = gloo::transport::tcp::CreateDevice(attr);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot open a TCP device for Gloo: ") + e.what() +
                             " (set GLOO_SOCKET_IFNAME to the network interface to use)");
  }
  auto context = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
  context->setTimeout(timeout_);
  try {
    std::unique_ptr<gloo::rendezvous::Store> inner;
    if (how.path.empty())
      inner = std::make_unique<TcpStore>(how.host, how.port, timeout_);
    else
      inner = std::make_unique<gloo::rendezvous::FileStore>(how.path);
    MeshStore store(*inner, size_, timeout_);
    context->connectFullMesh(store, device);
    // Everyone is connected once this returns, so nobody needs rank 0's store any longer and
    // it may close.
    auto sockets = gatherSocketNames(context);
    peers_ = store.addresses;
    for (int r = 0; r < size_; r++)
      if (r != rank_) peers_[r].insert(peers_[r].end(), sockets[r].begin(), sockets[r].end());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("init: ") + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("init: connecting the ranks failed: ") + e.what());
  }
  context_ = context;
}

void ProcessGroup::close() {
  if (!context_) return;
  // Closing the pairs tells the peers at once, instead of their next collective timing out.
  try {
    context_->closeConnections();
  } catch (const std::exception&) {
  }
  context_.reset();
}

void ProcessGroup::requireConnected(const char* what) const {
  if (!context_) throw std::runtime_error(std::string(what) + ": the process group was destroyed");
}

std::string ProcessGroup::explain(const char* what, const std::exception& e) const {
  std::string msg = e.what();
  for (size_t i = 0; i < peers_.size(); i++) {
    for (const auto& address : peers_[i]) {
      if (msg.find(address) == std::string::npos) continue;
      return std::string(what) + ": lost rank " + std::to_string(i) + " (" + msg + ")";
    }
  }
  if (msg.find("Timed out") != std::string::npos || msg.find("timed out") != std::string::npos)
    return std::string(what) + ": timed out after " + std::to_string(timeout_.count()) +
           " ms waiting for a peer (a rank stopped or is stuck): " + msg;
  return std::string(what) + " failed: " + msg;
}

void ProcessGroup::allReduce(float* data, size_t n, ReduceOp op) {
  requireConnected("allReduce");
  if (n == 0 || size_ == 1) return;
  gloo::AllreduceOptions opts(context_);
  opts.setOutput(data, n);
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean:
      opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
      break;
    case ReduceOp::Product:
      opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::product<float>));
      break;
    case ReduceOp::Min:
      opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::min<float>));
      break;
    case ReduceOp::Max:
      opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::max<float>));
      break;
  }
  try {
    gloo::allreduce(opts);
  } catch (const std::exception& e) {
    throw std::runtime_error(explain("allReduce", e));
  }
  if (op == ReduceOp::Mean) {
    // Divide, as torch's ReduceOp.AVG does, after the sum: every rank ends with the same bits.
    const float size = static_cast<float>(size_);
    for (size_t i = 0; i < n; i++) data[i] /= size;
  }
}

void ProcessGroup::broadcast(float* data, size_t n, int root) {
  requireConnected("broadcast");
  if (n == 0 || size_ == 1) return;
  gloo::BroadcastOptions opts(context_);
  opts.setOutput(data, n);
  opts.setRoot(root);
  try {
    gloo::broadcast(opts);
  } catch (const std::exception& e) {
    throw std::runtime_error(explain("broadcast", e));
  }
}

void ProcessGroup::barrier() {
  requireConnected("barrier");
  if (size_ == 1) return;
  gloo::BarrierOptions opts(context_);
  try {
    gloo::barrier(opts);
  } catch (const std::exception& e) {
    throw std::runtime_error(explain("barrier", e));
  }
}

}  // namespace nodegrad
