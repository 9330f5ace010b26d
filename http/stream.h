// StreamWriter: the body of a streamed answer (Server-Sent Events), pushed by a route from any
// thread after the server has written the status and headers (a chunked body).
//
// A route answers with a Response whose `stream` is set; once the head is on the wire the server
// calls `stream` with a writer. The connection then holds no thread: each Write() queues bytes
// and the connection's I/O thread writes them. Back-pressure: a client that does not read lets
// at most ServerOptions::stream_buffer_limit bytes queue up (or leaves one write unfinished for
// stream_write_timeout); past that the stream is cut off (Write() returns false) and the client
// must reconnect, instead of the server buffering without bound.
//
// Thread-safety: every method is safe from any thread. Lifecycle: the stream ends when the route
// calls Close(), the client goes away, a limit cuts it off, or the server stops; the OnClose
// callbacks run once then (on an I/O thread, or on the caller's when already ended). The writer
// may outlive the connection: it then refuses every write.
#pragma once

#include <functional>
#include <string>

namespace adsd::http {

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues `bytes` as the next part of the body. False once the stream has ended (or ended now
  // because the client fell too far behind).
  virtual bool Write(std::string bytes) = 0;
  // Ends the body after what is queued.
  virtual void Close() = 0;
  // `f` runs once when the stream ends, whoever ended it; at once if it has ended already.
  virtual void OnClose(std::function<void()> f) = 0;
  virtual bool closed() const = 0;
};

}  // namespace adsd::http
