// MPI behind the process group (comm_single.cpp stands in when MPI was not found). Only this
// file includes mpi.h. Three duplicates of MPI_COMM_WORLD keep traffic apart: one for tensors
// and gradients, one for DDP's small control messages (which may run while gradient
// allreduces are still in flight), and one on which the ranks tell each other, before every
// collective, which collective they are about to run.
//
// Every collective is a small state machine (Work::State): first each rank sends its
// descriptor (sequence number, kind, size, root, op) to every other rank and receives theirs;
// only when all agree is the MPI collective itself started, nonblocking, and polled. The
// descriptors of one stream arrive in order (MPI does not overtake messages of one source and
// tag), so the k-th message from a rank describes its k-th collective. A disagreement is found
// by every rank at once, before anything was sent, so it can be a tg::Error on every rank and
// the world stays usable. A wait that passes the deadline ends the job with MPI_Abort: the
// ranks whose descriptor did not come are named. finalize() is the last "collective" of both
// streams, so a rank that leaves while others wait is reported to them.
#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/comm.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <thread>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/distributed/backend.hpp"

namespace tg::distributed {

namespace {

using Clock = std::chrono::steady_clock;

// The two streams of collectives, each with its own sequence numbers.
enum Stream { kData = 0, kControl = 1, kStreams = 2 };

enum Kind : std::int64_t {
  kAllReduce = 1,
  kBroadcast,
  kAllGather,
  kBarrier,
  kBucket,        // a DDP gradient bucket
  kUnusedAgree,   // DDP's agreement on unused parameters after backward
  kControlBcast,  // DDP's construction checks (rank 0's description, a difference)
  kControlMin,
  kStatsSum,      // SyncBatchNorm's statistics
  kFloatBcast,    // DDP's broadcast of rank 0's parameters and buffers
  kFinalize,
};

// The descriptor every rank sends before a collective.
enum Field { kSeq, kKind, kCount, kRoot, kOp, kPass, kNdim, kDim0, kMaxDims = 5, kDescSize = kDim0 + kMaxDims };
using Desc = std::array<std::int64_t, kDescSize>;

struct World {
  bool initialized = false;
  bool finalized = false;  // finalize() ran under a launcher: MPI cannot start again
  bool mpi = false;        // MPI_Init ran (a launcher started us)
  int rank = 0, size = 1;
  MPI_Comm data = MPI_COMM_NULL, control = MPI_COMM_NULL, check = MPI_COMM_NULL;
  std::chrono::milliseconds timeout{300'000};
  std::int64_t seq[kStreams] = {0, 0};
  // Descriptor sends still in flight: their buffers must outlive them.
  std::deque<std::pair<std::unique_ptr<Desc>, MPI_Request>> sends;
  // Per stream, the collectives whose MPI call has not started yet, oldest first: MPI needs
  // the nonblocking collectives of a communicator started in the same order on every rank,
  // and the exchanges may complete in another order.
  std::deque<Work::State*> unstarted[kStreams];
};
World& world() {
  static World w;
  return w;
}

[[noreturn]] void fatal(const std::string& message) {
  std::fprintf(stderr, "tapegrad: rank %d of %d: %s\n", world().rank, world().size,
               message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

// An exception escaping main() on one rank would leave the others blocked in a collective:
// print it and take the job down.
void abort_job() {
  const char* what = "unknown exception";
  std::string message;
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      message = ex.what();
      what = message.c_str();
    } catch (...) {
    }
  }
  std::fprintf(stderr, "tapegrad: rank %d of %d failed: %s\n", world().rank, world().size, what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

int checked_count(const char* op, std::size_t n) {
  TG_CHECK(n <= std::size_t(INT_MAX), op, ": expected at most ", INT_MAX,
           " elements per call, got ", n);
  return int(n);
}

std::string seconds(std::chrono::milliseconds t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", double(t.count()) / 1000.0);
  return buf;
}

std::chrono::milliseconds default_timeout() {
  if (const char* v = std::getenv("TAPEGRAD_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    TG_CHECK(end != v && *end == '\0' && s > 0 && s < 1e9, "init: expected TAPEGRAD_DIST_TIMEOUT "
             "to be a positive number of seconds, got '", v, "'");
    return std::chrono::milliseconds(std::max<std::int64_t>(1, std::int64_t(s * 1000.0)));
  }
  return std::chrono::minutes(5);
}

const char* op_name(std::int64_t op) {
  switch (ReduceOp(op)) {
    case ReduceOp::Sum: return "Sum";
    case ReduceOp::Avg: return "Avg";
    case ReduceOp::Max: return "Max";
  }
  return "?";
}

const char* kind_name(std::int64_t kind) {
  switch (kind) {
    case kAllReduce: return "all_reduce";
    case kBroadcast: return "broadcast";
    case kAllGather: return "all_gather";
    case kBarrier: return "barrier";
    case kBucket: return "a DistributedDataParallel gradient bucket";
    case kUnusedAgree: return "DistributedDataParallel's end of backward";
    case kControlBcast: return "DistributedDataParallel's construction check";
    case kControlMin: return "DistributedDataParallel's construction check";
    case kStatsSum: return "SyncBatchNorm's statistics";
    case kFloatBcast: return "DistributedDataParallel's broadcast of rank 0's weights";
    case kFinalize: return "finalize (the rank returned from main, called exit() or finalize())";
  }
  return "an unknown collective";
}

std::string dims_str(const Desc& d) {
  std::string s = "[";
  for (std::int64_t i = 0; i < std::min<std::int64_t>(d[kNdim], kMaxDims); ++i)
    s += (i ? ", " : "") + std::to_string(d[kDim0 + i]);
  if (d[kNdim] > kMaxDims) s += ", ...";
  return s + "]";
}

// What a rank is doing, for messages: "all_reduce(Sum) of 4 elements [2, 2]".
std::string describe(const Desc& d) {
  std::string s = kind_name(d[kKind]);
  switch (d[kKind]) {
    case kAllReduce:
      s += "(" + std::string(op_name(d[kOp])) + ") of " + dims_str(d);
      break;
    case kBroadcast:
      s += " from root " + std::to_string(d[kRoot]) + " of " + dims_str(d);
      break;
    case kAllGather:
      s += " of " + dims_str(d);
      break;
    case kBucket:
    case kUnusedAgree:
      s += " (" + std::to_string(d[kCount]) + " values, backward pass " + std::to_string(d[kPass]) + ")";
      break;
    case kBarrier:
    case kFinalize:
      break;
    default:
      s += " (" + std::to_string(d[kCount]) + " values)";
  }
  return s;
}

std::string ranks_str(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

// "X on rank 0, Y on ranks 1, 2": each distinct value of show(desc) with the ranks that have it.
template <class Show>
std::string by_rank(const std::vector<Desc>& all, Show show) {
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  for (int r = 0; r < int(all.size()); ++r) {
    const std::string v = show(all[std::size_t(r)]);
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == v; });
    if (it == groups.end())
      groups.push_back({v, {r}});
    else
      it->second.push_back(r);
  }
  std::string s;
  for (std::size_t i = 0; i < groups.size(); ++i)
    s += (i ? ", " : "") + groups[i].first + " on " + ranks_str(groups[i].second);
  return s;
}

// The message for descriptors that disagree, or "" when they agree.
std::string disagreement(const std::vector<Desc>& all, int stream) {
  auto differ = [&](Field f) {
    return std::any_of(all.begin(), all.end(), [&](const Desc& d) { return d[f] != all[0][f]; });
  };
  const bool kinds = differ(kKind);
  bool shape = false;
  for (int f = kNdim; f < kDescSize; ++f) shape = shape || differ(Field(f));
  if (!kinds && !differ(kCount) && !shape && !differ(kRoot) && !differ(kOp) && !differ(kPass))
    return {};
  const std::string where = " (collective #" + std::to_string(all[0][kSeq]) + " of the " +
                            (stream == kData ? "data" : "control") + " stream)";
  const std::string name = kind_name(all[0][kKind]);
  if (!kinds) {
    if (all[0][kKind] == kAllGather && (shape || differ(kCount)))
      return name + ": expected the same shape on every rank, got " +
             by_rank(all, [](const Desc& d) { return dims_str(d); }) + where +
             "; every rank must pass tensors of one shape";
    if (differ(kCount) || shape)
      return name + ": expected the same number of elements on every rank, got " +
             by_rank(all, [](const Desc& d) {
               return d[kNdim] ? std::to_string(d[kCount]) + " " + dims_str(d)
                               : std::to_string(d[kCount]);
             }) + where + "; every rank must pass matching tensors" +
             (all[0][kKind] == kBucket ? " (DistributedDataParallel's bucket_cap_mb and the "
                                         "model must agree across ranks)" : "");
    if (differ(kRoot))
      return name + ": expected the same root on every rank, got " +
             by_rank(all, [](const Desc& d) { return "root " + std::to_string(d[kRoot]); }) + where;
    if (differ(kOp))
      return name + ": expected the same reduce op on every rank, got " +
             by_rank(all, [](const Desc& d) { return std::string(op_name(d[kOp])); }) + where;
    return "DistributedDataParallel: expected every rank at the same backward pass through the "
           "model, got " +
           by_rank(all, [](const Desc& d) { return "pass " + std::to_string(d[kPass]); }) + where +
           "; every rank must run the same number of backward passes, inside and outside "
           "no_sync() alike (no_sync() used on some ranks only?)";
  }
  return "expected every rank to run the same collective, got " +
         by_rank(all, [](const Desc& d) { return describe(d); }) + where +
         "; every rank must call the same collectives in the same order (the same number of "
         "steps, no_sync() and SyncBatchNorm on every rank or on none)";
}

void reap_sends() {
  auto& sends = world().sends;
  while (!sends.empty()) {
    int done = 0;
    MPI_Test(&sends.front().second, &done, MPI_STATUS_IGNORE);
    if (!done) return;
    sends.pop_front();
  }
}

// Spins briefly, then sleeps a little longer each time, up to 1 ms: collectives that complete
// fast keep their latency, long waits do not burn a core.
struct Backoff {
  int spins = 0;
  void operator()() {
    if (++spins < 2000) return;
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(1000, (spins - 2000) * 10 + 10)));
  }
};

Desc make_desc(Kind kind, std::size_t count, const Shape* shape = nullptr, int root = 0,
               ReduceOp op = ReduceOp::Sum, std::int64_t pass = 0) {
  Desc d{};
  d[kKind] = kind;
  d[kCount] = std::int64_t(count);
  d[kRoot] = root;
  d[kOp] = std::int64_t(op);
  d[kPass] = pass;
  if (shape) {
    d[kNdim] = std::int64_t(shape->size());
    for (std::size_t i = 0; i < std::min<std::size_t>(shape->size(), kMaxDims); ++i)
      d[kDim0 + std::ptrdiff_t(i)] = std::int64_t((*shape)[i]);
  }
  return d;
}

}  // namespace

struct Work::State {
  bool exchange_done();
  void drive();
  enum Phase { kExchange, kRunning, kDone, kFailed } phase = kDone;
  int stream = kData;
  Desc mine{};
  std::vector<Desc> all;              // every rank's descriptor, by rank
  std::vector<MPI_Request> recvs;     // by rank; MPI_REQUEST_NULL once arrived
  std::function<void(MPI_Request*)> start;  // posts the MPI collective
  std::function<void()> finish;       // after completion (Avg's scaling)
  MPI_Request request = MPI_REQUEST_NULL;
  Clock::time_point started, deadline;
  std::string error;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (phase == kExchange || phase == kRunning) {
      try {
        wait();
      } catch (const std::exception& e) {  // nothing was sent: only say so
        std::fprintf(stderr, "tapegrad: rank %d: a collective never waited on failed: %s\n",
                     world().rank, e.what());
      }
    }
  }

  // Sends this rank's descriptor to every other rank and posts the receives of theirs.
  void post(int stream_, Desc desc) {
    World& w = world();
    stream = stream_;
    mine = desc;
    mine[kSeq] = ++w.seq[stream];
    all.assign(std::size_t(w.size), Desc{});
    all[std::size_t(w.rank)] = mine;
    recvs.assign(std::size_t(w.size), MPI_REQUEST_NULL);
    reap_sends();
    for (int r = 0; r < w.size; ++r) {
      if (r == w.rank) continue;
      MPI_Irecv(all[std::size_t(r)].data(), kDescSize, MPI_INT64_T, r, stream, w.check,
                &recvs[std::size_t(r)]);
      auto buf = std::make_unique<Desc>(mine);
      MPI_Request send = MPI_REQUEST_NULL;
      MPI_Isend(buf->data(), kDescSize, MPI_INT64_T, r, stream, w.check, &send);
      w.sends.emplace_back(std::move(buf), send);
    }
    started = Clock::now();
    deadline = started + w.timeout;
    phase = kExchange;
    w.unstarted[stream].push_back(this);
  }

  // Advances; whether complete. Throws tg::Error when the ranks disagree.
  bool test() {
    if (phase == kExchange) drive();
    if (phase == kFailed) TG_CHECK(false, error);
    if (phase == kExchange) return false;
    if (phase == kRunning) {
      if (request != MPI_REQUEST_NULL) {
        int done = 0;
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (!done) return false;
      }
      phase = kDone;
      if (finish) finish();
    }
    return true;
  }

  [[noreturn]] void timed_out() {
    const World& w = world();
    std::vector<int> missing;
    for (int r = 0; r < w.size; ++r)
      if (recvs[std::size_t(r)] != MPI_REQUEST_NULL) missing.push_back(r);
    std::string what = describe(mine) + " (collective #" + std::to_string(mine[kSeq]) + " of the " +
                       (stream == kData ? "data" : "control") + " stream)";
    if (phase == kExchange)
      fatal("timed out after " + seconds(w.timeout) + " in " + what + ": " + ranks_str(missing) +
             " did not arrive (stopped, stuck, still "
            "computing, or running fewer collectives than this rank); ending the job (the bound "
            "is init({.timeout}) or TAPEGRAD_DIST_TIMEOUT)");
    fatal("timed out after " + seconds(w.timeout) + " in " + what + ": every rank arrived but "
          "the transfer did not complete (a lost network link or a rank stopped mid-transfer); "
          "ending the job (the bound is init({.timeout}) or TAPEGRAD_DIST_TIMEOUT)");
  }

  void wait() {
    Backoff backoff;
    while (!test()) {
      if (Clock::now() > deadline) timed_out();
      backoff();
    }
  }
};

// Whether every rank's descriptor has come; then checks them (kFailed on a disagreement).
bool Work::State::exchange_done() {
  for (MPI_Request& r : recvs) {
    if (r == MPI_REQUEST_NULL) continue;
    int done = 0;
    MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    if (!done) return false;
  }
  error = disagreement(all, stream);
  if (error.empty()) return true;
  phase = kFailed;
  // A rank that has left cannot take part in anything any more: end the job here.
  const bool left =
      std::any_of(all.begin(), all.end(), [](const Desc& d) { return d[kKind] == kFinalize; });
  if (left) fatal(error);
  return true;
}

// Starts this stream's collectives, oldest first, as far as their exchanges have completed.
void Work::State::drive() {
  auto& queue = world().unstarted[stream];
  while (!queue.empty()) {
    State* head = queue.front();
    if (!head->exchange_done()) return;
    queue.pop_front();
    if (head->phase == kFailed) continue;  // every rank found it: every rank skips it
    head->phase = kRunning;
    if (head->start) head->start(&head->request);
    if (head == this) return;
  }
}

namespace {

bool multi(const char* op) {
  World& w = world();
  if (!w.initialized) {
    TG_CHECK(!w.finalized, op, ": expected a collective before finalize(), got one after it "
             "(under ", detail::launched_world_size(), " processes started by a launcher)");
    TG_CHECK(detail::launched_world_size() == 0, op, ": expected tg::distributed::init() "
             "before the first collective, got none (under a launcher that started ",
             detail::launched_world_size(), " processes, this rank would otherwise act as a "
             "world of one)");
    return false;
  }
  return w.mpi && w.size > 1;
}

using StatePtr = std::shared_ptr<Work::State>;

StatePtr launch(int stream, const Desc& desc, std::function<void(MPI_Request*)> start,
                std::function<void()> finish = {}) {
  auto s = std::make_shared<Work::State>();
  s->start = std::move(start);
  s->finish = std::move(finish);
  s->post(stream, desc);
  s->test();  // a disagreement known at once throws here
  return s;
}

void run(int stream, const Desc& desc, std::function<void(MPI_Request*)> start,
         std::function<void()> finish = {}) {
  launch(stream, desc, std::move(start), std::move(finish))->wait();
}

// The agreed descriptors' collectives.
StatePtr start_all_reduce(Tensor& t, ReduceOp op) {
  const int n = checked_count("all_reduce", t.size());
  float* data = t.data();
  const int size = world().size;
  return launch(kData, make_desc(kAllReduce, t.size(), &t.shape(), 0, op),
                [=](MPI_Request* r) {
                  MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT,
                                 op == ReduceOp::Max ? MPI_MAX : MPI_SUM, world().data, r);
                },
                [=] {
                  if (op != ReduceOp::Avg) return;
                  const float scale = 1.0f / float(size);
                  std::for_each(data, data + n, [scale](float& v) { v *= scale; });
                });
}

StatePtr start_broadcast(Tensor& t, int root) {
  TG_CHECK(root >= 0 && root < world_size(), "broadcast: expected a root in [0, ",
           world_size(), "), got ", root);
  const int n = checked_count("broadcast", t.size());
  float* data = t.data();
  return launch(kData, make_desc(kBroadcast, t.size(), &t.shape(), root),
                [=](MPI_Request* r) { MPI_Ibcast(data, n, MPI_FLOAT, root, world().data, r); });
}

StatePtr start_barrier() {
  return launch(kData, make_desc(kBarrier, 0),
                [](MPI_Request* r) { MPI_Ibarrier(world().data, r); });
}

}  // namespace

void init(const InitOptions& options) {
  World& w = world();
  TG_CHECK(options.timeout.count() >= 0, "init: expected a timeout >= 0 (0: the default), got ",
           options.timeout.count(), " ms");
  if (w.initialized) {
    if (options.timeout.count() > 0) w.timeout = options.timeout;
    return;
  }
  TG_CHECK(!w.finalized, "init: expected init() at most once per process under a launcher, got "
           "a call after finalize() (MPI cannot be initialised again); keep the world open until "
           "the last collective");
  w.timeout = options.timeout.count() > 0 ? options.timeout : default_timeout();
  w.initialized = true;
  // A plain run does not call MPI_Init (Open MPI would start a daemon for a world of one).
  if (detail::launched_world_size() == 0) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.data);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.control);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.check);
  if (w.size > 1) std::set_terminate(abort_job);
  std::atexit(finalize);
}

void finalize() {
  World& w = world();
  if (!w.initialized) return;
  if (w.mpi) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      if (w.size > 1) {
        // The last collective of both streams: a rank still waiting in a collective learns
        // that this one has left, and this one learns what it is waiting in.
        StatePtr streams[kStreams];
        for (int s = 0; s < kStreams; ++s) {
          streams[s] = std::make_shared<Work::State>();
          streams[s]->post(s, make_desc(kFinalize, 0));
        }
        Backoff backoff;
        for (int s = 0; s < kStreams; ++s) {
          try {
            while (!streams[s]->test()) {
              if (Clock::now() > streams[s]->deadline) streams[s]->timed_out();
              backoff();
            }
          } catch (const std::exception& e) {
            fatal(e.what());
          }
        }
        // Every descriptor sent was matched by now (all ranks reached this point); the last
        // ones may still be completing.
        const Clock::time_point deadline = Clock::now() + w.timeout;
        for (reap_sends(); !w.sends.empty(); reap_sends()) {
          if (Clock::now() > deadline) fatal("finalize: timed out sending to the other ranks");
          backoff();
        }
      }
      MPI_Comm_free(&w.data);
      MPI_Comm_free(&w.control);
      MPI_Comm_free(&w.check);
      MPI_Finalize();
    }
  }
  const bool was_mpi = w.mpi;
  w = World{};
  w.finalized = was_mpi;
}

bool is_initialized() { return world().initialized; }

std::chrono::milliseconds timeout() { return world().timeout; }

// Before init() and after finalize(), what the launcher says rather than a world of one: a
// rank that reports itself as rank 0 of 1 under mpirun would mislead whoever reads it.
int rank() {
  if (!world().initialized && detail::launched_world_size() > 0) return detail::launched_rank();
  return world().rank;
}

int world_size() {
  if (!world().initialized && detail::launched_world_size() > 0)
    return detail::launched_world_size();
  return world().size;
}

void barrier() {
  if (multi("barrier")) start_barrier()->wait();
}

void all_reduce(Tensor& t, ReduceOp op) {
  if (multi("all_reduce")) start_all_reduce(t, op)->wait();
}

void broadcast(Tensor& t, int root) {
  if (!multi("broadcast")) {
    TG_CHECK(root == 0, "broadcast: expected a root in [0, 1), got ", root);
    return;
  }
  start_broadcast(t, root)->wait();
}

namespace {
StatePtr start_all_gather(Tensor& out, const Tensor& t) {
  const int n = checked_count("all_gather", t.size());
  const float* in = t.data();
  float* o = out.data();
  return launch(kData, make_desc(kAllGather, t.size(), &t.shape()), [=](MPI_Request* r) {
    MPI_Iallgather(in, n, MPI_FLOAT, o, n, MPI_FLOAT, world().data, r);
  });
}
}  // namespace

Tensor all_gather(const Tensor& t) {
  const bool many = multi("all_gather");
  Shape shape{std::size_t(world().size)};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  Tensor out = empty_tensor(shape);
  if (!many) {
    std::copy(t.data(), t.data() + t.size(), out.data());
    return out;
  }
  start_all_gather(out, t)->wait();
  return out;
}

Work all_gather(Tensor& out, const Tensor& t, const CollectiveOptions& options) {
  const bool many = multi("all_gather");
  Shape shape{std::size_t(world().size)};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  TG_CHECK(out.shape() == shape, "all_gather: expected an output of shape ", shape_str(shape),
           " (the world size, then the input's shape), got ", shape_str(out.shape()));
  if (!many) {
    std::copy(t.data(), t.data() + t.size(), out.data());
    return Work();
  }
  Work w(start_all_gather(out, t));
  if (!options.async_op) w.wait();
  return w;
}

Work::Work() = default;
Work::~Work() = default;
Work::Work(const Work&) = default;
Work& Work::operator=(const Work&) = default;
Work::Work(std::shared_ptr<State> state) : state_(std::move(state)) {}

bool Work::is_completed() { return !state_ || state_->test(); }

bool Work::wait() {
  if (state_) state_->wait();
  return true;
}

Work all_reduce(Tensor& t, ReduceOp op, const CollectiveOptions& options) {
  if (!multi("all_reduce")) return Work();
  Work w(start_all_reduce(t, op));
  if (!options.async_op) w.wait();
  return w;
}

Work broadcast(Tensor& t, int root, const CollectiveOptions& options) {
  if (!multi("broadcast")) {
    TG_CHECK(root == 0, "broadcast: expected a root in [0, 1), got ", root);
    return Work();
  }
  Work w(start_broadcast(t, root));
  if (!options.async_op) w.wait();
  return w;
}

Work barrier(const CollectiveOptions& options) {
  if (!multi("barrier")) return Work();
  Work w(start_barrier());
  if (!options.async_op) w.wait();
  return w;
}

namespace detail {

struct AsyncSum::Impl {
  StatePtr state;
};

AsyncSum::AsyncSum(float* data, std::size_t n, std::int64_t pass)
    : impl_(std::make_unique<Impl>()) {
  if (!multi("all_reduce")) return;  // one rank: already the sum
  const int count = checked_count("all_reduce", n);
  impl_->state = launch(kData, make_desc(kBucket, n, nullptr, 0, ReduceOp::Sum, pass),
                        [=](MPI_Request* r) {
                          MPI_Iallreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM,
                                         world().data, r);
                        });
}

// A request still in flight completes before its buffer goes (MPI_Cancel does not apply to
// collectives): State's destructor waits.
AsyncSum::~AsyncSum() = default;

bool AsyncSum::test() { return !impl_->state || impl_->state->test(); }

void AsyncSum::wait() {
  if (impl_->state) impl_->state->wait();
}

void sum_in_place(float* data, std::size_t n) {
  if (!multi("all_reduce")) return;
  const int count = checked_count("all_reduce", n);
  run(kData, make_desc(kStatsSum, n), [=](MPI_Request* r) {
    MPI_Iallreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, world().data, r);
  });
}

void sum_in_place(double* data, std::size_t n) {
  if (!multi("all_reduce")) return;
  const int count = checked_count("all_reduce", n);
  run(kData, make_desc(kStatsSum, n), [=](MPI_Request* r) {
    MPI_Iallreduce(MPI_IN_PLACE, data, count, MPI_DOUBLE, MPI_SUM, world().data, r);
  });
}

void control_min(std::int64_t* v, std::size_t n, std::int64_t pass) {
  if (!multi("all_reduce")) return;
  const int count = checked_count("all_reduce", n);
  run(kControl, make_desc(pass ? kUnusedAgree : kControlMin, n, nullptr, 0, ReduceOp::Sum, pass),
      [=](MPI_Request* r) {
        MPI_Iallreduce(MPI_IN_PLACE, v, count, MPI_INT64_T, MPI_MIN, world().control, r);
      });
}

void broadcast_string(std::string& s, int root) {
  if (!multi("broadcast")) return;
  std::int64_t size = std::int64_t(s.size());
  run(kControl, make_desc(kControlBcast, 1, nullptr, root), [&](MPI_Request* r) {
    MPI_Ibcast(&size, 1, MPI_INT64_T, root, world().control, r);
  });
  s.resize(std::size_t(size));
  const int count = checked_count("broadcast", s.size());
  run(kControl, make_desc(kControlBcast, s.size(), nullptr, root), [&](MPI_Request* r) {
    MPI_Ibcast(s.data(), count, MPI_CHAR, root, world().control, r);
  });
}

void broadcast_floats(float* data, std::size_t n, int root) {
  if (!multi("broadcast")) return;
  const int count = checked_count("broadcast", n);
  run(kData, make_desc(kFloatBcast, n, nullptr, root), [=](MPI_Request* r) {
    MPI_Ibcast(data, count, MPI_FLOAT, root, world().data, r);
  });
}

}  // namespace detail

}  // namespace tg::distributed
#endif  // TAPEGRAD_WITH_MPI
