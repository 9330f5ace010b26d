// Loading a RulesConfig from TOML.
#include <toml++/toml.h>

#include <sstream>

#include "ads/catalog.h"
#include "ads/rules/rules.h"
#include "config/toml_parse.h"

namespace adsd::ads {

extern const std::string_view kDefaultRulesToml;

namespace {

using cqrs::InvalidArgument;
using cqrs::Status;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads an array of strings at `path`, if present.
Status StringList(const toml::table& t, std::string_view path, std::vector<std::string>& out, bool lower = false) {
  const toml::node* n = t.at_path(path).node();
  if (n == nullptr) return Status::Ok();
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return InvalidArgument(std::string(path) + ": must be an array of strings");
  out.clear();
  for (const toml::node& el : *arr) {
    const auto* s = el.as_string();
    if (s == nullptr) return InvalidArgument(std::string(path) + ": must be an array of strings");
    out.push_back(lower ? Lower(s->get()) : s->get());
  }
  return Status::Ok();
}

template <typename T>
Status Number(const toml::table& t, std::string_view path, T& out, T min, T max) {
  const toml::node* n = t.at_path(path).node();
  if (n == nullptr) return Status::Ok();
  std::optional<T> v;
  if constexpr (std::is_floating_point_v<T>) {
    if (auto d = n->value<double>()) v = static_cast<T>(*d);
  } else {
    if (auto i = n->as_integer()) v = static_cast<T>(i->get());
  }
  if (!v || *v < min || *v > max) {
    std::ostringstream m;
    m << path << ": must be a number from " << min << " to " << max;
    return InvalidArgument(m.str());
  }
  out = *v;
  return Status::Ok();
}

Status Restricted(const toml::table& t, std::vector<RestrictedCategory>& out) {
  const toml::node* n = t.at_path("regulatory.restricted").node();
  if (n == nullptr) return Status::Ok();
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return InvalidArgument("regulatory.restricted: must be an array of tables");
  out.clear();
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string where = "regulatory.restricted[" + std::to_string(i) + "]";
    const toml::table* e = arr->get(i)->as_table();
    if (e == nullptr) return InvalidArgument(where + ": must be a table");
    RestrictedCategory rc;
    auto cat = (*e)["category"].value<std::string>();
    if (!cat || !IsKnownCategory(*cat)) return InvalidArgument(where + ".category: must be a known category");
    rc.category = *cat;
    RETURN_IF_ERROR(Number<int>(*e, "min_age", rc.min_age, 0, 99));
    if (const toml::table* by = (*e)["min_age_by_country"].as_table()) {
      for (const auto& [country, age] : *by) {
        auto a = age.value<std::int64_t>();
        if (!IsKnownCountry(country.str()) || !a || *a < 0 || *a > 99) {
          return InvalidArgument(where + ".min_age_by_country." + std::string(country.str()) +
                                 ": must be a known country with an age from 0 to 99");
        }
        rc.min_age_by_country[std::string(country.str())] = static_cast<int>(*a);
      }
    }
    RETURN_IF_ERROR(StringList(*e, "banned_countries", rc.banned_countries));
    for (const auto& c : rc.banned_countries) {
      if (!IsKnownCountry(c)) return InvalidArgument(where + ".banned_countries: unknown country " + c);
    }
    out.push_back(std::move(rc));
  }
  return Status::Ok();
}

}  // namespace

cqrs::Result<RuleEngine> RuleEngine::FromToml(std::string_view text, std::string_view source) {
  ASSIGN_OR_RETURN(toml::table t, config::ParseToml(text, source));
  for (const auto& [key, node] : t) {
    const std::string k(key.str());
    if (k != "sanity" && k != "policy" && k != "fraud" && k != "regulatory") {
      return InvalidArgument(std::string(source) + ": unknown section [" + k + "]");
    }
  }
  RulesConfig c;
  RETURN_IF_ERROR(Number<std::int64_t>(t, "sanity.max_bid_cents", c.max_bid_cents, 1, 100'000'000));
  if (auto b = t.at_path("sanity.reject_title_as_description").value<bool>()) {
    c.reject_title_as_description = *b;
  }
  RETURN_IF_ERROR(StringList(t, "policy.misleading_phrases", c.misleading_phrases, true));
  RETURN_IF_ERROR(Number<double>(t, "policy.max_title_capitals_share", c.max_title_capitals_share, 0.0, 1.0));
  RETURN_IF_ERROR(Number<int>(t, "policy.max_title_exclamations", c.max_title_exclamations, 0, 90));
  RETURN_IF_ERROR(StringList(t, "fraud.url_shorteners", c.url_shorteners, true));
  RETURN_IF_ERROR(StringList(t, "fraud.blocked_domains", c.blocked_domains, true));
  RETURN_IF_ERROR(Number<std::int64_t>(t, "fraud.flood_window_seconds", c.flood_window_seconds, 1, 86'400 * 7));
  RETURN_IF_ERROR(Number<int>(t, "fraud.flood_max_copies", c.flood_max_copies, 1, 1'000'000));
  RETURN_IF_ERROR(Restricted(t, c.restricted));
  return RuleEngine(std::move(c));
}

const RuleEngine& RuleEngine::Defaults() {
  static const RuleEngine engine = [] {
    auto e = FromToml(kDefaultRulesToml, "default_rules.toml");
    if (!e.ok()) std::abort();  // the shipped file is tested; this cannot happen in a release
    return std::move(*e);
  }();
  return engine;
}

}  // namespace adsd::ads
