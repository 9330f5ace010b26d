// The request target and header values: parsing and the rules the edge enforces on them.
//
// Routing works on the raw path, as sent: a percent-encoded slash (`%2F`) is data inside one
// segment, never a separator, so `/v1%2Fads` is not `/v1/ads`. Path parameters are decoded only
// after the route matched (Router::Find). Query keys and values are decoded (`+` is a space).
//
// Pure functions, no Beast: the server, the router and the fuzz target share them.
// Thread-safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace adsd::http {

// Decodes %XX escapes (and `+` as a space when `plus_is_space`); nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Fills req.path (raw, not decoded) and req.query from a request target in origin form
// (`/path?query`) or absolute form (`http://host/path?query`, RFC 9112 §3.2.2: the authority is
// ignored; the Host header stays the one that counts). False when it is neither, when it holds a
// fragment (`#`), or a bad escape. A query key given twice keeps its first value and is listed in
// req.repeated_query.
bool ParseTarget(std::string_view target, Request& req);

// Whether `s` is an RFC 9110 token (a method or a header name).
bool IsToken(std::string_view s);

// Whether `value` may be written as a header field value: no control characters except HTAB
// (so no CR, LF or NUL), and no leading or trailing whitespace.
bool IsSafeFieldValue(std::string_view value);

// Whether `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view s);

// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, and control
// characters by U+FFFD too: safe to echo in a JSON problem body or a log line.
std::string PrintableUtf8(std::string_view s);

// A Content-Disposition value for a download named `filename` (any bytes): RFC 6266 `filename=`
// with an ASCII fallback (characters outside [A-Za-z0-9._-] become '_') and `filename*=UTF-8''`
// with the name percent-encoded (invalid UTF-8 replaced first).
std::string AttachmentDisposition(std::string_view filename);

// Whether an If-None-Match value (RFC 9110 §13.1.2: `*`, or a list of entity tags) names `etag`,
// compared weakly: `W/"2"` names `"2"`. A value that is not that syntax names nothing.
bool IfNoneMatchNames(std::string_view if_none_match, std::string_view etag);

// Whether an If-Match value (RFC 9110 §13.1.1: `*`, or a list of entity tags) names `etag`,
// compared strongly: a weak tag never matches. A value that is not that syntax names nothing.
bool IfMatchNames(std::string_view if_match, std::string_view etag);

// Whether a Content-Type value names `media_type` (RFC 9110 §8.3: type/subtype
// case-insensitive, optional whitespace before parameters, parameters ignored).
bool MediaTypeIs(std::string_view content_type, std::string_view media_type);

}  // namespace adsd::http
