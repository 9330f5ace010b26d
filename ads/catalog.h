// The fixed vocabularies an ad is checked against: categories, currencies, countries.
#pragma once

#include <string_view>

namespace adsd::ads {

// The ad taxonomy. Restricted ones (alcohol, gambling, …) are allowed here and checked by the
// regulatory rules.
bool IsKnownCategory(std::string_view category);
// Active ISO 4217 alphabetic codes.
bool IsKnownCurrency(std::string_view code);
// Officially assigned ISO 3166-1 alpha-2 codes.
bool IsKnownCountry(std::string_view code);

}  // namespace adsd::ads
