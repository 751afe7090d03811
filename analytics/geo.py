"""Countries and the four escalation regions (APAC, EMEA, LATAM, NA).

Exports name countries by ISO code ("BR"), by English name ("Brazil") or by a
local spelling ("Brasil"); :data:`COUNTRY_ALIASES` maps all of them, lower-cased,
to the ISO alpha-2 code, and :data:`REGION_BY_COUNTRY` derives the region.
"""

from __future__ import annotations

# ISO 3166-1 alpha-2 code and English short name, grouped by escalation region.
# North America is the US and Canada (plus their territories); Mexico, Central
# America and the Caribbean are LATAM, as most trust & safety org charts draw it.
_REGIONS: dict[str, str] = {
    "NA": "US United States|CA Canada|PR Puerto Rico|GU Guam|VI US Virgin Islands|BM Bermuda|"
    "PM Saint Pierre and Miquelon|AS American Samoa|MP Northern Mariana Islands|UM US Minor Outlying Islands",
    "LATAM": "MX Mexico|BR Brazil|AR Argentina|CO Colombia|CL Chile|PE Peru|VE Venezuela|EC Ecuador|"
    "BO Bolivia|PY Paraguay|UY Uruguay|GT Guatemala|HN Honduras|SV El Salvador|NI Nicaragua|"
    "CR Costa Rica|PA Panama|CU Cuba|DO Dominican Republic|HT Haiti|JM Jamaica|TT Trinidad and Tobago|"
    "BS Bahamas|BB Barbados|BZ Belize|GY Guyana|SR Suriname|AG Antigua and Barbuda|DM Dominica|"
    "GD Grenada|KN Saint Kitts and Nevis|LC Saint Lucia|VC Saint Vincent and the Grenadines|AW Aruba|"
    "CW Curacao|KY Cayman Islands|TC Turks and Caicos Islands|VG British Virgin Islands|AI Anguilla|"
    "MS Montserrat|GP Guadeloupe|MQ Martinique|GF French Guiana|BL Saint Barthelemy|MF Saint Martin|"
    "SX Sint Maarten|BQ Caribbean Netherlands|FK Falkland Islands",
    "APAC": "CN China|JP Japan|KR South Korea|KP North Korea|TW Taiwan|HK Hong Kong|MO Macao|MN Mongolia|"
    "IN India|PK Pakistan|BD Bangladesh|LK Sri Lanka|NP Nepal|BT Bhutan|MV Maldives|AF Afghanistan|"
    "ID Indonesia|MY Malaysia|SG Singapore|TH Thailand|VN Vietnam|PH Philippines|MM Myanmar|"
    "KH Cambodia|LA Laos|BN Brunei|TL Timor-Leste|AU Australia|NZ New Zealand|PG Papua New Guinea|"
    "FJ Fiji|SB Solomon Islands|VU Vanuatu|WS Samoa|TO Tonga|KI Kiribati|TV Tuvalu|NR Nauru|"
    "FM Micronesia|MH Marshall Islands|PW Palau|NC New Caledonia|PF French Polynesia|CK Cook Islands|"
    "NU Niue|TK Tokelau|WF Wallis and Futuna|NF Norfolk Island|CX Christmas Island|CC Cocos Islands|"
    "PN Pitcairn|IO British Indian Ocean Territory|KZ Kazakhstan|UZ Uzbekistan|KG Kyrgyzstan|"
    "TJ Tajikistan|TM Turkmenistan",
    "EMEA": "GB United Kingdom|IE Ireland|FR France|DE Germany|ES Spain|PT Portugal|IT Italy|NL Netherlands|"
    "BE Belgium|LU Luxembourg|CH Switzerland|AT Austria|DK Denmark|SE Sweden|NO Norway|FI Finland|"
    "IS Iceland|PL Poland|CZ Czechia|SK Slovakia|HU Hungary|RO Romania|BG Bulgaria|GR Greece|CY Cyprus|"
    "MT Malta|SI Slovenia|HR Croatia|BA Bosnia and Herzegovina|RS Serbia|ME Montenegro|MK North Macedonia|"
    "AL Albania|XK Kosovo|EE Estonia|LV Latvia|LT Lithuania|UA Ukraine|BY Belarus|MD Moldova|RU Russia|"
    "GE Georgia|AM Armenia|AZ Azerbaijan|TR Turkey|LI Liechtenstein|MC Monaco|SM San Marino|VA Vatican City|"
    "AD Andorra|GI Gibraltar|FO Faroe Islands|GL Greenland|IM Isle of Man|JE Jersey|GG Guernsey|"
    "AX Aland Islands|SJ Svalbard and Jan Mayen|IL Israel|PS Palestine|JO Jordan|LB Lebanon|SY Syria|"
    "IQ Iraq|IR Iran|SA Saudi Arabia|AE United Arab Emirates|QA Qatar|BH Bahrain|KW Kuwait|OM Oman|"
    "YE Yemen|EG Egypt|LY Libya|TN Tunisia|DZ Algeria|MA Morocco|EH Western Sahara|SD Sudan|SS South Sudan|"
    "ET Ethiopia|ER Eritrea|DJ Djibouti|SO Somalia|KE Kenya|UG Uganda|TZ Tanzania|RW Rwanda|BI Burundi|"
    "CD DR Congo|CG Congo|GA Gabon|GQ Equatorial Guinea|CM Cameroon|CF Central African Republic|TD Chad|"
    "NE Niger|NG Nigeria|BJ Benin|TG Togo|GH Ghana|CI Cote d'Ivoire|BF Burkina Faso|ML Mali|SN Senegal|"
    "GM Gambia|GW Guinea-Bissau|GN Guinea|SL Sierra Leone|LR Liberia|MR Mauritania|CV Cabo Verde|"
    "ST Sao Tome and Principe|AO Angola|ZM Zambia|ZW Zimbabwe|MW Malawi|MZ Mozambique|NA Namibia|"
    "BW Botswana|ZA South Africa|LS Lesotho|SZ Eswatini|MG Madagascar|MU Mauritius|SC Seychelles|"
    "KM Comoros|RE Reunion|YT Mayotte|SH Saint Helena|BV Bouvet Island",
}

COUNTRY_NAMES: dict[str, str] = {}
REGION_BY_COUNTRY: dict[str, str] = {}
for _region, _spec in _REGIONS.items():
    for _item in _spec.split("|"):
        _code, _name = _item.split(" ", 1)
        COUNTRY_NAMES[_code] = _name
        REGION_BY_COUNTRY[_code] = _region

# Lower-cased spellings seen in exports -> ISO code. ISO codes themselves map to
# themselves; note "na" is Namibia here, never "North America" (see region aliases).
COUNTRY_ALIASES: dict[str, str] = {code.lower(): code for code in COUNTRY_NAMES}
COUNTRY_ALIASES.update({name.lower(): code for code, name in COUNTRY_NAMES.items()})
COUNTRY_ALIASES.update(
    {
        "usa": "US",
        "u.s.": "US",
        "u.s.a.": "US",
        "united states of america": "US",
        "uk": "GB",
        "great britain": "GB",
        "england": "GB",
        "scotland": "GB",
        "wales": "GB",
        "northern ireland": "GB",
        "el": "GR",  # EU/DSA code for Greece
        "brasil": "BR",
        "méxico": "MX",
        "mexico city": "MX",
        "españa": "ES",
        "deutschland": "DE",
        "korea": "KR",
        "republic of korea": "KR",
        "czech republic": "CZ",
        "türkiye": "TR",
        "turkiye": "TR",
        "viet nam": "VN",
        "russian federation": "RU",
        "ivory coast": "CI",
        "uae": "AE",
        "perú": "PE",
        "colômbia": "CO",
        "the netherlands": "NL",
        "holland": "NL",
        "swaziland": "SZ",
        "burma": "MM",
        "macedonia": "MK",
    }
)

#: Region spellings -> canonical region.
REGION_ALIASES: dict[str, str] = {
    "apac": "APAC",
    "asia": "APAC",
    "asia pacific": "APAC",
    "asia-pacific": "APAC",
    "emea": "EMEA",
    "europe": "EMEA",
    "eu": "EMEA",
    "mena": "EMEA",
    "africa": "EMEA",
    "latam": "LATAM",
    "latin america": "LATAM",
    "south america": "LATAM",
    "lac": "LATAM",
    "na": "NA",
    "nam": "NA",
    "noram": "NA",
    "north america": "NA",
    "us/ca": "NA",
    "amer": "NA",
}

EU_MEMBER_STATES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
