// Names the calling thread (up to 15 characters show), so that top -H, perf and gdb tell the
// log writer from an HTTP thread.
#pragma once

#include <pthread.h>

#include <string>

namespace cqrs {

inline void NameThisThread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace cqrs
