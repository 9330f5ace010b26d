#include "ads/catalog.h"

#include <algorithm>
#include <array>

namespace adsd::ads {

namespace {

constexpr std::array<std::string_view, 24> kCategories = {
    "alcohol", "apparel",  "automotive", "beauty",  "books",   "crypto", "dating",  "electronics",
    "finance", "food",     "gambling",   "garden",  "grocery", "health", "home",    "jewelry",
    "pets",    "pharmacy", "sports",     "tobacco", "toys",    "travel", "weapons", "software",
};

// ISO 4217 active codes (2024 list; funds and precious-metal codes excluded).
constexpr std::string_view kCurrencies =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR "
    "KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR "
    "SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS "
    "UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

// ISO 3166-1 alpha-2, officially assigned.
constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW";

// Whether `code` is one of the space-separated fixed-width words of `list`.
bool InWordList(std::string_view list, std::string_view code, std::size_t width) {
  if (code.size() != width) return false;
  for (std::size_t i = 0; i + width <= list.size(); i += width + 1) {
    if (list.substr(i, width) == code) return true;
  }
  return false;
}

}  // namespace

bool IsKnownCategory(std::string_view c) {
  return std::find(kCategories.begin(), kCategories.end(), c) != kCategories.end();
}
bool IsKnownCurrency(std::string_view code) { return InWordList(kCurrencies, code, 3); }
bool IsKnownCountry(std::string_view code) { return InWordList(kCountries, code, 2); }

}  // namespace adsd::ads
