// Clang's thread-safety analysis attributes (-Wthread-safety), as macros that expand to nothing on
// compilers without them (g++). They write a class's locking rules into its declarations, where
// the compiler checks them: which mutex guards each member, which helpers must be called with it
// held, which public methods take it themselves.
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);           // read or written only with mu_ held
//   Item* head_ PT_GUARDED_BY(mu_);       // the pointee is guarded, not the pointer
//   void Grow() REQUIRES(mu_);            // callers hold mu_
//   void Add(int n) EXCLUDES(mu_);        // takes mu_ itself: callers must not hold it
//
// The names are those of clang's documentation ("Thread Safety Analysis") and of LevelDB's
// port/thread_annotations.h; Abseil spells the same attributes ABSL_GUARDED_BY and so on.
// cqrs::Mutex (mutex.h) is the capability they name: libstdc++'s std::mutex carries no attributes.
#pragma once

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(guarded_by)
#define CQRS_THREAD_ANNOTATION_(x) __attribute__((x))
#endif
#endif
#ifndef CQRS_THREAD_ANNOTATION_
#define CQRS_THREAD_ANNOTATION_(x)
#endif

// On a class: its objects are capabilities (a mutex). `x` names the kind in warnings.
#define CAPABILITY(x) CQRS_THREAD_ANNOTATION_(capability(x))
// On a class: an RAII object that holds a capability for its lifetime (a lock guard).
#define SCOPED_CAPABILITY CQRS_THREAD_ANNOTATION_(scoped_lockable)

// On a member: read and written only with `x` held (reads with `x` held at least shared).
#define GUARDED_BY(x) CQRS_THREAD_ANNOTATION_(guarded_by(x))
// On a pointer or smart-pointer member: what it points to is guarded by `x`.
#define PT_GUARDED_BY(x) CQRS_THREAD_ANNOTATION_(pt_guarded_by(x))

// On a mutex member: the lock order. Checked only with -Wthread-safety-beta.
#define ACQUIRED_BEFORE(...) CQRS_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CQRS_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))

// On a function: the caller holds the capabilities (exclusively, or at least shared).
#define REQUIRES(...) CQRS_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CQRS_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))

// On a function: it acquires / releases the capabilities (on a member of a capability class
// with no argument: the object itself).
#define ACQUIRE(...) CQRS_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CQRS_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CQRS_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CQRS_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) CQRS_THREAD_ANNOTATION_(release_generic_capability(__VA_ARGS__))
// On a function: it acquires the capabilities when it returns `result`.
#define TRY_ACQUIRE(...) CQRS_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) CQRS_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))

// On a function: the caller must not hold the capabilities (the function takes them itself;
// holding one would deadlock).
#define EXCLUDES(...) CQRS_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

// On a function: when it returns, the capability is held (the analysis trusts it from there on).
#define ASSERT_CAPABILITY(x) CQRS_THREAD_ANNOTATION_(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) CQRS_THREAD_ANNOTATION_(assert_shared_capability(x))

// On a function: it returns a reference to the capability `x` (an accessor of a private mutex).
#define RETURN_CAPABILITY(x) CQRS_THREAD_ANNOTATION_(lock_returned(x))

// On a function: not analyzed. Each use says why the analysis cannot follow it.
#define NO_THREAD_SAFETY_ANALYSIS CQRS_THREAD_ANNOTATION_(no_thread_safety_analysis)
