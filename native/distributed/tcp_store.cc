#include "tcp_store.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace nodegrad {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// One connection attempt, bounded by the deadline; -1 with errno set when it fails.
int connectOnce(const addrinfo* ai, Clock::time_point deadline) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return -1;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
  if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int r = poll(&p, 1, remainingMs(deadline));
    int err = 0;
    socklen_t len = sizeof(err);
    if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) return fd;
    errno = r == 0 ? ETIMEDOUT : (err != 0 ? err : errno);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

void putU32(std::vector<char>& out, uint32_t v) {
  for (int i = 0; i < 4; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string describeKey(const std::string& key) {
  // Gloo's connectFullMesh publishes rank 3's host as "rank_3" and its addresses as "3".
  if (key.rfind("rank_", 0) == 0) return "rank " + key.substr(5);
  if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos) return "rank " + key;
  return "key '" + key + "'";
}

TcpStore::TcpStore(const std::string& host, int port, std::chrono::milliseconds timeout)
    : where_(host + ":" + std::to_string(port)), timeout_(timeout) {
  auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string lastError = "no address";
  while (true) {
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0) {
      lastError = std::string("cannot resolve the host: ") + gai_strerror(rc);
    } else {
      for (addrinfo* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
        fd_ = connectOnce(ai, deadline);
        if (fd_ < 0) lastError = std::strerror(errno);
      }
      freeaddrinfo(res);
    }
    if (fd_ >= 0) break;
    if (remainingMs(deadline) == 0)
      throw std::runtime_error("could not reach the master's store at " + where_ + " within " +
                               std::to_string(timeout.count()) + " ms (" + lastError +
                               "): is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100, remainingMs(deadline))));
  }
}

TcpStore::~TcpStore() {
  if (fd_ >= 0) close(fd_);
}

void TcpStore::sendAll(const char* p, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t w = send(fd_, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      throw std::runtime_error("lost the master's store at " + where_ + ": " + std::strerror(errno));
    pollfd pf{fd_, POLLOUT, 0};
    if (poll(&pf, 1, remainingMs(deadline)) == 0)
      throw std::runtime_error("timed out writing to the master's store at " + where_);
  }
}

void TcpStore::recvAll(char* p, size_t n, Clock::time_point deadline, const std::string& key) {
  while (n > 0) {
    ssize_t r = recv(fd_, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) throw std::runtime_error("the master's store at " + where_ + " closed the connection");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      throw std::runtime_error("lost the master's store at " + where_ + ": " + std::strerror(errno));
    pollfd pf{fd_, POLLIN, 0};
    if (poll(&pf, 1, remainingMs(deadline)) == 0)
      throw std::runtime_error("rendezvous timed out: " + describeKey(key) + " did not join within " +
                               std::to_string(timeout_.count()) + " ms");
  }
}

std::vector<char> TcpStore::request(char op, const std::string& key, const std::vector<char>& value,
                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<char> msg;
  msg.push_back(op);
  putU32(msg, static_cast<uint32_t>(key.size()));
  msg.insert(msg.end(), key.begin(), key.end());
  putU32(msg, static_cast<uint32_t>(value.size()));
  msg.insert(msg.end(), value.begin(), value.end());
  sendAll(msg.data(), msg.size(), deadline);
  unsigned char head[5];
  recvAll(reinterpret_cast<char*>(head), 5, deadline, key);
  uint32_t len = head[1] | (head[2] << 8) | (head[3] << 16) | (static_cast<uint32_t>(head[4]) << 24);
  std::vector<char> data(len);
  if (len > 0) recvAll(data.data(), len, deadline, key);
  if (head[0] != 0)
    throw std::runtime_error("the master's store refused the request: " + std::string(data.begin(), data.end()));
  return data;
}

void TcpStore::set(const std::string& key, const std::vector<char>& data) { request('S', key, data, timeout_); }

std::vector<char> TcpStore::get(const std::string& key) { return request('G', key, {}, timeout_); }

void TcpStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void TcpStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  // One deadline for all keys: waiting for N ranks takes at most `timeout`, not N times it.
  auto deadline = Clock::now() + timeout;
  for (const auto& key : keys) request('W', key, {}, std::chrono::milliseconds(std::max(1, remainingMs(deadline))));
}

}  // namespace nodegrad
