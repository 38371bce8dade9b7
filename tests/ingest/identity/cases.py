"""One case table for both engines: (kind, profile, input, country, expected value, reason).

Published examples cite their source; the rest cover Unicode, whitespace, +tags, E.164
variants and empty/NULL. Identifiers are synthetic (example.com, fictional numbers).
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    kind: str
    profile: str
    value: str | None
    country: str | None
    expected: str | None
    reason: str | None


UID2_DOCS = "IABTechLab/uid2docs docs/getting-started/gs-normalization-encoding.md"
TIKTOK_HELP = "TikTok Ads Manager help, How to create a Custom Audience with a customer file"
TIKTOK_IDS = "TikTok Ads Manager help, List of supported IDs and formats for a customer file"

# (profile, input, normalized, hash) published by the platform itself.
PUBLISHED_HASHES = [
    # UID2: "Normalization Examples for Email" table, hashed and Base64-encoded values.
    ("uid2", "MyEmail@example.com", "myemail@example.com", "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U=", UID2_DOCS),
    ("uid2", "MYEMAIL@example.com", "myemail@example.com", "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U=", UID2_DOCS),
    ("uid2", "My.Email@example.com", "my.email@example.com", "4itTvG+HEnTzpiqzejyu1yFPwU1nYhWpaiQvz62hyB8=", UID2_DOCS),
    ("uid2", "JaneSaoirse@example.com", "janesaoirse@example.com", "1mcOepIAfxtf94Xx/IHlOqbT170GvfXEc83HKGwoS20=", UID2_DOCS),
    ("uid2", "Jane.Saoirse@example.com", "jane.saoirse@example.com", "sZZDLHuYmiypHIN5mVfFFdpT5sE6vyC3j+qU8RfpC/g=", UID2_DOCS),
    ("uid2", "JaneSaoirse+Work@example.com", "janesaoirse+work@example.com", "KKruSBUjDNO069iMUVImVQZm6RrAGZKeOtrD9mwogYA=", UID2_DOCS),
    ("uid2", "JANE.SAOIRSE@gmail.com", "janesaoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", UID2_DOCS),
    ("uid2", "Jane.Saoirse@gmail.com", "janesaoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", UID2_DOCS),
    ("uid2", "JaneSaoirse+Work@gmail.com", "janesaoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", UID2_DOCS),
    ("uid2", "user@example.com", "user@example.com", "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", UID2_DOCS),
    # UID2 "Phone Number Hash Encoding" example: normalized +12345678901.
    ("uid2", "+12345678901", "+12345678901", "EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=", UID2_DOCS),
    # TikTok: the customer file table's email example, normalized and hashed.
    ("tiktok", " JaneDoe@Gmail.com ", "janedoe@gmail.com", "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69", TIKTOK_HELP),
]  # fmt: skip

CASES = [
    # Emails: whitespace (tabs, no-break space), case, Gmail rules per profile.
    Case("email", "uid2", "  Jane.Doe+news@Gmail.com\t", None, "janedoe@gmail.com", None),
    Case("email", "uid2", "jane.doe+news@googlemail.com", None, "jane.doe+news@googlemail.com", None),
    Case("email", "ndc", "jane.doe+news@googlemail.com", None, "janedoe@gmail.com", None),
    # seed 000: "All Gmail variations automatically normalize to canonical form".
    Case("email", "ndc", "john.doe@gmail.com", None, "johndoe@gmail.com", None),
    Case("email", "ndc", "john.doe+spam@gmail.com", None, "johndoe@gmail.com", None),
    Case("email", "meta", " John.Doe+Spam@Gmail.com ", None, "john.doe+spam@gmail.com", None),
    Case("email", "google@v1", "John.Doe@GoogleMail.com", None, "john.doe@googlemail.com", None),
    Case("email", "google_ads_legacy", "John.Doe@GoogleMail.com", None, "johndoe@googlemail.com", None),
    Case("email", "google_ads_legacy", "John.Doe+x@gmail.com", None, "johndoe+x@gmail.com", None),
    Case("email", "adobe_email_lc_sha256", "\u00a0USER@Example.COM\u00a0", None, "user@example.com", None),
    Case("email", "liveramp", "a.b@example.org", None, "a.b@example.org", None),
    Case("email", "uid2", "jane doe@example.com", None, None, "email_syntax"),
    Case("email", "uid2", "jane@@example.com", None, None, "email_syntax"),
    Case("email", "uid2", "jane.example.com", None, None, "email_syntax"),
    Case("email", "uid2", "+tag@gmail.com", None, None, "email_syntax"),
    Case("email", "uid2@v1", "josé@example.com", None, None, "email_syntax"),
    Case("email", "uid2@v1", "ÉLODIE@EXAMPLE.COM", None, None, "email_syntax"),
    # uid2@v2 as UID2's operator: non-ASCII kept, only A-Z lowercased, dots/+tag for gmail.com.
    Case("email", "uid2", "josé@example.com", None, "josé@example.com", None),
    Case("email", "uid2", "ÉLODIE@EXAMPLE.COM", None, "Élodie@example.com", None),
    Case("email", "uid2", "Zoë.Q+x@Gmail.com", None, "zoëq@gmail.com", None),
    Case("email", "uid2", "jane@exämple.de", None, "jane@exämple.de", None),
    Case("email", "uid2", "jane doe@exämple.de", None, None, "email_syntax"),
    Case("email", "uid2", "jane\u00a0doe@example.com", None, None, "email_syntax"),
    # google@v2 as Google's Data Manager formatter: dots and +tag go for both Gmail domains.
    Case("email", "google", "John.Doe+Shop@GoogleMail.com", None, "johndoe@googlemail.com", None),
    Case("email", "google", " J.O.H.N@gmail.com ", None, "john@gmail.com", None),
    Case("email", "google", "John.Doe@Example.com", None, "john.doe@example.com", None),
    Case("email", "google", "ÉLODIE@EXAMPLE.COM", None, "élodie@example.com", None),
    Case("email", "google", "+tag@gmail.com", None, None, "email_syntax"),
    # meta@v2 as facebook-business: edge dots and NUL stripped with the whitespace.
    Case("email", "meta", "\x00.John@Example.com. ", None, "john@example.com", None),
    Case("email", "meta@v1", ".John@Example.com.", None, None, "email_syntax"),
    Case("email", "uid2", "", None, None, "empty"),
    Case("email", "uid2", " \t ", None, None, "empty"),
    Case("email", "uid2", None, None, None, "empty"),
    # Phones: E.164 variants, trunk prefixes, country from the row or the default (US).
    Case("phone", "uid2", "+1 (201) 555-0100", None, "+12015550100", None),
    Case("phone", "uid2", "201.555.0100", "US", "+12015550100", None),
    Case("phone", "uid2", "12015550100", None, "+12015550100", None),
    Case("phone", "uid2", " 201 555 0100\t", "us", "+12015550100", None),
    Case("phone", "meta", "(201) 555-0100", None, "12015550100", None),
    Case("phone", "ndc", "+1 (201) 555-0100", None, "2015550100", None),
    Case("phone", "liveramp", "1-201-555-0100", None, "2015550100", None),
    Case("phone", "uid2", "020 7946 0958", "GB", "+442079460958", None),
    Case("phone", "uid2", "+44 20 7946 0958", None, "+442079460958", None),
    Case("phone", "uid2", "447400123456", "GB", "+447400123456", None),
    Case("phone", "ndc", "07400 123456", "GB", "7400123456", None),
    Case("phone", "uid2", "030 901820", "DE", "+4930901820", None),
    Case("phone", "uid2", "06 12 34 56 78", "FR", "+33612345678", None),
    Case("phone", "uid2", "09876 543210", "IN", "+919876543210", None),
    Case("phone", "uid2", "(11) 96123-4567", "BR", "+5511961234567", None),
    Case("phone", "uid2", "090-1234-5678", "JP", "+819012345678", None),
    Case("phone", "uid2", "0412 345 678", "AU", "+61412345678", None),
    Case("phone", "uid2", "(416) 555-0199", "CA", "+14165550199", None),
    # UID2 docs: Sydney "(02) 1234 5678" -> +61212345678.
    Case("phone", "uid2", "(02) 1234 5678", "AU", "+61212345678", None),
    Case("phone", "uid2", "12345", None, None, "phone_too_short"),
    Case("phone", "uid2", "2015550100123", None, None, "phone_too_long"),
    Case("phone", "uid2", "+999 1234 5678", None, None, "phone_calling_code_unknown"),
    Case("phone", "uid2", "020 7946 0958", "XX", None, "phone_country_unknown"),
    # uid2@v2: a number already in E.164 with 10 to 15 digits is taken as written; any other
    # is formatted and must then have 10 to 15 digits (UID2's is_phone_number_normalized).
    Case("phone", "uid2", "+123456789012345", None, "+123456789012345", None),
    Case("phone", "uid2@v1", "+123456789012345", None, None, "phone_too_long"),
    Case("phone", "uid2", "+123456789", None, None, "phone_too_short"),
    Case("phone", "uid2@v1", "+123456789", None, "+123456789", None),
    Case("phone", "uid2", "+1 201 555 0100 ", None, "+12015550100", None),
    # meta@v2 and google@v2 with no country: the digits are read as international, as the
    # SDKs do; digits that start with no calling code are rejected.
    Case("phone", "meta", "1 (201) 555-0100", "XX", "12015550100", None),
    Case("phone", "meta@v1", "1 (201) 555-0100", "XX", None, "phone_country_unknown"),
    Case("phone", "google", "44 20 7946 0958", "XX", "+442079460958", None),
    Case("phone", "google", "1-800-FLOWERS", "US", None, "phone_too_short"),
    Case("phone", "google", "999 1234 5678", "XX", None, "phone_calling_code_unknown"),
    # Google's examples: digits that already start with the country code.
    Case("phone", "google", "1 (800) 555-0100", "US", "+18005550100", None),
    Case("phone", "google", "+1 800 555 0100", None, "+18005550100", None),
    # TikTok's customer file: digits with the country code, no '+', no leading zero; its two
    # published examples (TIKTOK_IDS), then a '+tag' removed whatever the domain.
    Case("phone", "tiktok", "(657)777-0000", "US", "16577770000", None),
    Case("phone", "tiktok", "374-93-828222", "AM", "37493828222", None),
    Case("phone", "tiktok", "020 7946 0958", "GB", "442079460958", None),
    Case("email", "tiktok", " Jane.Doe+Shop@Example.com ", None, "jane.doe@example.com", None),
    Case("email", "tiktok", "firstname-lastname@gmail.com", None, "firstname-lastname@gmail.com", None),
    # Dialed abroad from the seed's country: the dialing prefix is not part of the number.
    Case("phone", "uid2", "0044 20 7946 0958", "FR", "+442079460958", None),
    Case("phone", "uid2", "011 44 20 7946 0958", "US", "+442079460958", None),
    Case("phone", "ndc", "00 1 201 555 0100", "DE", "2015550100", None),
    Case("phone", "uid2", "", None, None, "empty"),
    Case("phone", "uid2", None, None, None, "empty"),
    Case("phone", "adobe_email_lc_sha256", "+12015550100", None, None, "kind_unsupported"),
    # Names, postal codes and countries: Meta's SDK keeps A-Z letters, cuts a ZIP+4 at the dash
    # and keeps two letters of a country; Google trims and lowercases names, and sends postal
    # code and country as written (trimmed, country upper-cased, two letters).
    Case("first_name", "meta", " Mary-Kate ", None, "marykate", None),
    Case("last_name", "meta", "O'Brien.", None, "obrien", None),
    Case("first_name", "meta", "123", None, None, "empty"),
    Case("postal_code", "meta", " 94105-1234 ", None, "94105", None),
    Case("country", "meta", "U.S.", None, "us", None),
    Case("first_name", "google", " José ", None, "josé", None),
    Case("last_name", "google", "O'BRIEN", None, "o'brien", None),
    Case("postal_code", "google", " SW1A 1AA ", None, "SW1A 1AA", None),
    Case("country", "google", " gb ", None, "GB", None),
    Case("country", "google", "United Kingdom", None, None, "text_syntax"),
    Case("first_name", "uid2", "Jane", None, None, "kind_unsupported"),
    # Digits that already start with the seed's calling code (libphonenumber reads them so):
    # before, "919876543210" in India became +91 919876543210.
    Case("phone", "google", "919876543210", "IN", "+919876543210", None),
    Case("phone", "google", "819012345678", "JP", "+819012345678", None),
    Case("phone", "google", "4930901820", "DE", "+4930901820", None),
    Case("phone", "google", "07700 900123", "GB", "+447700900123", None),
    # A trunk prefix stays when the number is national only with it.
    Case("phone", "google", "0081 9012345678", "JP", "+8100819012345678", None),
    # Amazon (its normalizers' answers): email keeps letters, digits, _ . @ - only; street
    # line alone, split at spaces and punctuation, words replaced, joined, lowercased.
    Case("email", "amazon", " John.Doe+News@Example.com ", None, "john.doenews@example.com", None),
    Case("email", "amazon", "jane doe@example.com", None, "janedoe@example.com", None),
    Case("email", "amazon", "José@exämple.de", None, "josé@exämple.de", None),
    Case("phone", "amazon", "+1 (413) 871-4499", None, "14138714499", None),
    Case("address", "amazon", "123-A North Street, Apt#4", "US", "123anstaptnumber4", None),
    Case("address", "amazon", "c/o Jane Doe, 12 Main St.", "us", "janedoe12mainst", None),
    Case("address", "amazon", "10 Downing Street", "UK", "10downingst", None),
    Case("address", "amazon", "12 Boulevard Haussmann", "FR", "12boulevardhaussmann", None),
    Case("address", "amazon", "12 Allée des Roses", "FR", "12alléedesroses", None),
    # Amazon's loops over a growing token list: "2-B" is pushed past the last index it
    # visits; a second '#' replaces the last part of the first; 五 counts as a number.
    Case("address", "amazon", "5 1-A 2-B", None, "51a2-b", None),
    Case("address", "amazon", "A#1#2 Main", None, "anumbernumber2main", None),
    Case("address", "amazon", "五-A 3", "JP", "五a3", None),
    Case("address", "amazon", "...", None, None, "empty"),
    Case("address", "amazon", "Rua Augusta 12", "BR", None, "address_country_unsupported"),
    # MAIDs.
    Case("maid", "ndc", " 6D92078A-8246-4BA4-AE5B-76104861E7DC ", None, "6d92078a-8246-4ba4-ae5b-76104861e7dc", None),
    Case("maid", "ndc", "not-a-maid", None, None, "maid_syntax"),
]  # fmt: skip

AMAZON_UPLOADER_TESTS = (
    "aws-solutions/amazon-marketing-cloud-uploader-from-aws, source/tests/unit_test/"
    "amc_transformation/sample_data/test_XX/XX_raw.json and XX_check.json (generated data)"
)
# (kind, country, input, hash) from Amazon's own test data for its normalizers: row 1 and 2
# of each country's addresses, row 4 of two countries' emails.
AMAZON_PUBLISHED = [
    ("address", "US", "8 Bluestem Terrace", "fe8115cbef0c2b9c5bedbedaa34b080223959365176679d9b0461465b1b08425"),
    ("address", "US", "4 Cody Junction", "298f6d3e8245ff74a4c14df3f3709137a3e35b81e9c57dbd0626d76a4326b5ea"),
    ("email", None, "bkinchley3@who.int", "9175ef28bbb1023d26df03248f47487c2b3c25a4932ac1197a3839e11c7b52d2"),
    ("address", "CA", "16724 Sherman Lane", "7a37822f0e2e02f2edd0e3c3ea3f650b1a007ec75947a22493b3eb37d3e8431f"),
    ("address", "CA", "2 Pawling Junction", "00ebb1e5a3eff43295391390fb431abe32e2deb429764005659695d67e757e60"),
    ("address", "GB", "5180 Merchant Pass", "1e6abe1949eddf64322d2f4579b57929f8dd193f6763d54cdb74833f06b88a23"),
    ("address", "GB", "161 Graedel Trail", "c94f41219964b9c5db4faa81561dcb2143d3395cbd6e7e48914acdb844ea6a22"),
    ("address", "FR", "552 Ronald Regan Place", "5c52069811ccec9a6623107ff8366f724d3f7e566cabf436d3bb824a9f1bac50"),
    ("address", "FR", "09362 Porter Plaza", "78b978e169d8fbe8aa0f1c43860497e3910ba9299d750701751ca8c141f70eeb"),
    ("email", None, "chetterich3@fc2.com", "a9d44e003fc412047749c4ad0b1207303c91a7c8268cec4799946265e939e860"),
    ("address", "DE", "07352 Chinook Drive", "775397152d25c255e4a329ce04f77429b1caeb173e8d07418cbe17bd0fa66696"),
    ("address", "DE", "483 Susan Parkway", "b9e0c7021bf5f9a40227fd12d8e78be73191c6fea2af74ba4e601a74313ca2fc"),
    ("address", "ES", "2911 Northview Alley", "d73b4a5da7dd32684f328f7419699a270a0eda3f376bb2f8d7d465e2062e2b67"),
    ("address", "ES", "19402 Lakewood Alley", "6096bdacdbdf81ef4f0ed09dfcaf77ab486a3902c514262d1a73a772ab6d1343"),
    ("address", "IT", "12 Nevada Junction", "ce31914c06462587a17c3e64f0f67c31fb6f18ee312133c6f49e51317d70b84c"),
    ("address", "IT", "2 Butterfield Trail", "48cdb5676e1a014960f09fde19fd0f074bd2b7e0dd2edf4850a1f929625c49d3"),
    ("address", "JP", "99 Sundown Lane", "341b093fe414471434347620933baa624a95a23105077efeb257aface3d4bc46"),
    ("address", "JP", "88 Hintze Circle", "49308c888250d98c1f26e8c1e1d1ca03b12980b7ea790e8de17de6c7faeaa367"),
    ("address", "IN", "5 Straubel Place", "1f852f506f387d58da0c08526bc0d7da0c8bc69691aa2201c66119c1bbeb51a1"),
    ("address", "IN", "65 Summer Ridge Circle", "78d29e5227122225297ebac2c210c115fdce7abe8129f499f50571aadc2bcceb"),
]  # fmt: skip

# (street, city, state, postal code, expected, reason), all with the ndc profile.
ADDRESS_CASES = [
    ("123 Main Street", "San Francisco", "CA", "94105", "123 MAIN ST SAN FRANCISCO CA 94105", None),
    ("123 main st.", "san francisco", "ca", "94105-1234", "123 MAIN ST SAN FRANCISCO CA 94105", None),
    ("4418 Franklin Dr Apartment 19", "Philadelphia", "PA", "19103", "4418 FRANKLIN DR APT 19 PHILADELPHIA PA 19103", None),
    ("674 HIGHLAND COURT #26C", "Portland", "OR", "97204", "674 HIGHLAND CT APT 26C PORTLAND OR 97204", None),
    ("100 north Main Street southwest", "Austin", "TX", "78701", "100 N MAIN ST SW AUSTIN TX 78701", None),
    ("55 Lake Road, Suite 200", "Denver", "co", "80202", "55 LAKE RD STE 200 DENVER CO 80202", None),
    ("9 O'Neil\tAvenue", "St. Louis", "MO", " 63101 ", "9 ONEIL AVE ST LOUIS MO 63101", None),
    ("1 Park", "Boston", "MA", "02108", "1 PARK BOSTON MA 02108", None),
    ("123 Main St", "", "CA", "94105", None, "address_incomplete"),
    ("123 Main St", "San Francisco", "CA", "941", None, "address_incomplete"),
    (None, None, None, None, None, "empty"),
]  # fmt: skip
