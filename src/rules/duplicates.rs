//! What makes two customers (or two contacts) likely the same one: the
//! blocking keys that put them side by side, and the score of a pair with its
//! reasons in words. One definition for both databases: the keys are stored
//! and joined in SQL, the score is computed here.
//!
//! A name is normalised before it is compared: lower case, punctuation gone,
//! legal forms (`GmbH`, `Inc.`, `Ltd` ...) or titles (`Dr`, `Mr` ...) dropped,
//! the words sorted, so "ACME Industrial GmbH" and "Industrial Acme" agree.
//! A name's keys catch one typing mistake anywhere in it: its first and last
//! six letters (one mistake leaves one of them whole on a name of 12 letters
//! or more), and on a name of 12 letters or fewer every spelling with one
//! letter left out.

use std::collections::BTreeSet;

/// Which rows are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customer,
    Contact,
}

/// Rows sharing a key with more rows than this are not compared on it: such a
/// key (a switchboard number, a common word) says nothing about sameness.
pub const BLOCK_LIMIT: i64 = 50;

/// Pairs scoring below this are not candidates.
pub const THRESHOLD: f64 = 0.6;

/// What a row is compared on.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub id: i64,
    /// A contact's customer: contacts match by name only within one customer.
    pub customer_id: Option<i64>,
    pub name: String,
    /// E-mail addresses (a customer's are its contacts').
    pub emails: Vec<String>,
    /// Phone numbers as given.
    pub phones: Vec<String>,
    /// Values of custom fields marked `identifier`: (key, value).
    pub identifiers: Vec<(String, String)>,
    /// External ids: (source, id).
    pub external: Vec<(String, String)>,
}

/// Words dropped from company names before they are compared.
const LEGAL_FORMS: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "group",
    "holding",
    "inc",
    "incorporated",
    "kg",
    "limited",
    "llc",
    "llp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pty",
    "sa",
    "sarl",
    "sas",
    "sons",
    "spa",
    "srl",
    "the",
];

/// Words dropped from people's names.
const TITLES: &[&str] = &["dr", "mr", "mrs", "ms", "prof", "sir"];

/// E-mail domains anyone can have: sharing one says nothing.
const OPEN_DOMAINS: &[&str] = &[
    "163.com",
    "aol.com",
    "example.com",
    "example.net",
    "example.org",
    "gmail.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mail.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.com",
    "yandex.ru",
];

/// A name as it is compared: lower-case words, legal forms or titles dropped, sorted.
pub fn normalise_name(kind: Kind, name: &str) -> String {
    // Dots go first, so "S.A." and "B.V." read as the legal forms they are.
    let lowered = name.to_lowercase().replace('.', "");
    let words: Vec<&str> = lowered.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let dropped = if kind == Kind::Customer { LEGAL_FORMS } else { TITLES };
    let mut kept: Vec<&str> = words.iter().copied().filter(|w| !dropped.contains(w)).collect();
    if kept.is_empty() {
        kept = words;
    }
    kept.sort_unstable();
    kept.join(" ")
}

fn email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    email.contains('@').then_some(email)
}

/// The domain of an address, unless anyone can have one there.
fn domain(email: &str) -> Option<&str> {
    let domain = email.rsplit_once('@')?.1;
    (!domain.is_empty() && !OPEN_DOMAINS.contains(&domain)).then_some(domain)
}

/// A phone number's last nine digits (enough to ignore how the country code
/// was written), or all of them from seven; shorter ones are not compared.
fn phone(raw: &str) -> Option<String> {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0..7 => None,
        n => Some(digits[n.saturating_sub(9)..].iter().collect()),
    }
}

/// The keys a row is filed under: rows sharing one are compared.
pub fn keys(kind: Kind, row: &Features) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let name = normalise_name(kind, &row.name);
    let scope = row.customer_id.map(|c| format!("{c}:")).unwrap_or_default();
    let squashed: Vec<char> = name.chars().filter(|c| *c != ' ').collect();
    if !squashed.is_empty() {
        keys.insert(format!("n:{scope}{name}"));
        // Both kinds at 12 letters, so a name of 12 meets one a letter shorter or longer.
        if squashed.len() >= 12 {
            keys.insert(format!("p:{scope}{}", squashed[..6].iter().collect::<String>()));
            keys.insert(format!("s:{scope}{}", squashed[squashed.len() - 6..].iter().collect::<String>()));
        }
        if squashed.len() <= 12 {
            keys.insert(format!("d:{scope}{}", squashed.iter().collect::<String>()));
            for skip in 0..squashed.len() {
                let spelled: String =
                    squashed.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, c)| *c).collect();
                keys.insert(format!("d:{scope}{spelled}"));
            }
        }
    }
    for address in row.emails.iter().filter_map(|e| email(e)) {
        if kind == Kind::Customer
            && let Some(domain) = domain(&address)
        {
            keys.insert(format!("m:{domain}"));
        }
        keys.insert(format!("e:{address}"));
    }
    for number in row.phones.iter().filter_map(|p| phone(p)) {
        keys.insert(format!("t:{number}"));
    }
    for (key, value) in &row.identifiers {
        keys.insert(format!("i:{key}:{}", value.trim().to_lowercase()));
    }
    for (_, id) in &row.external {
        keys.insert(format!("x:{id}"));
    }
    keys
}

/// Trigram similarity of two normalised names as PostgreSQL's `pg_trgm` has
/// it: shared trigrams of the words padded with two spaces before and one
/// after, over all trigrams of both.
pub fn trigram_similarity(a: &str, b: &str) -> f64 {
    fn grams(text: &str) -> BTreeSet<[char; 3]> {
        let mut out = BTreeSet::new();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let padded: Vec<char> = "  ".chars().chain(word.chars()).chain(" ".chars()).collect();
            out.extend(padded.windows(3).map(|w| [w[0], w[1], w[2]]));
        }
        out
    }
    let (a, b) = (grams(a), grams(b));
    let union = a.union(&b).count();
    if union == 0 { 0.0 } else { a.intersection(&b).count() as f64 / union as f64 }
}

/// The words of two normalised names that the other lacks, each side's joined.
fn own_words(a: &str, b: &str) -> (String, String) {
    let (mut left, mut right): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    left.retain(|w| {
        if let Some(i) = right.iter().position(|r| r == w) {
            right.remove(i);
            false
        } else {
            true
        }
    });
    (left.concat(), right.concat())
}

/// The numbers in a normalised name, in order.
fn numbers(name: &str) -> Vec<&str> {
    name.split(' ').filter(|w| w.chars().all(|c| c.is_ascii_digit())).collect()
}

/// A pair worth a look: its score from 0 to 1 and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Scores a pair: each piece of evidence is a chance the two are one, and
/// they combine as independent chances do (`1 - Π(1 - p)`). `None` below
/// [`THRESHOLD`].
pub fn score(kind: Kind, a: &Features, b: &Features) -> Option<Match> {
    let mut evidence: Vec<(f64, String)> = Vec::new();
    let same_scope = a.customer_id == b.customer_id;
    let (name_a, name_b) = (normalise_name(kind, &a.name), normalise_name(kind, &b.name));
    if same_scope && !name_a.is_empty() {
        if name_a == name_b {
            evidence.push((0.85, format!("same normalised name ({name_a})")));
        } else if numbers(&name_a) == numbers(&name_b) {
            // Names that differ in a number ("Store 12", "Store 21") are different branches, however close.
            let trigram = trigram_similarity(&name_a, &name_b);
            let (own_a, own_b) = own_words(&name_a, &name_b);
            let distance = strsim::levenshtein(&own_a, &own_b);
            let longest = own_a.chars().count().max(own_b.chars().count()).max(1);
            let edited =
                if own_a.is_empty() || own_b.is_empty() { 0.0 } else { 1.0 - distance as f64 / longest as f64 };
            // Edits are counted on the words the names do not share: "Rohou Metals" and "Rolou Metals" differ by
            // one letter in five, not in eleven. One letter off in a short word is how different short names look,
            // so a strong match needs one edit in ten letters (or 85% of trigrams shared); a weaker one counts only
            // beside other evidence.
            let weight = if edited >= 0.9 || trigram >= 0.85 {
                0.75
            } else if edited >= 0.75 || trigram >= 0.6 {
                0.45
            } else {
                0.0
            };
            if weight > 0.0 {
                evidence.push((weight, format!("similar name (trigram {trigram:.2}, edit distance {distance})")));
            }
        }
    }
    let emails = |f: &Features| f.emails.iter().filter_map(|e| email(e)).collect::<BTreeSet<_>>();
    let (emails_a, emails_b) = (emails(a), emails(b));
    if let Some(shared) = emails_a.intersection(&emails_b).next() {
        evidence.push((if kind == Kind::Contact { 0.9 } else { 0.8 }, format!("same e-mail ({shared})")));
    } else if kind == Kind::Customer {
        let domains = |set: &BTreeSet<String>| set.iter().filter_map(|e| domain(e).map(str::to_owned)).collect();
        let (domains_a, domains_b): (BTreeSet<String>, BTreeSet<String>) = (domains(&emails_a), domains(&emails_b));
        if let Some(shared) = domains_a.intersection(&domains_b).next() {
            evidence.push((0.4, format!("same e-mail domain ({shared})")));
        }
    }
    let phones = |f: &Features| f.phones.iter().filter_map(|p| phone(p)).collect::<BTreeSet<_>>();
    if let Some(shared) = phones(a).intersection(&phones(b)).next() {
        evidence.push((0.6, format!("same phone (ending {})", &shared[shared.len().saturating_sub(4)..])));
    }
    for (key, value) in &a.identifiers {
        let value = value.trim().to_lowercase();
        if b.identifiers.iter().any(|(k, v)| k == key && v.trim().to_lowercase() == value) {
            evidence.push((0.95, format!("same {key} ({value})")));
        }
    }
    for (source, id) in &a.external {
        if let Some((other, _)) = b.external.iter().find(|(s, i)| i == id && s != source) {
            let (first, second) = if source < other { (source, other) } else { (other, source) };
            evidence.push((0.9, format!("same external id ({id} in {first} and {second})")));
            break;
        }
    }
    let apart: f64 = evidence.iter().map(|(p, _)| 1.0 - p).product();
    let score = ((1.0 - apart) * 1000.0).round() / 1000.0;
    (score >= THRESHOLD).then(|| Match { score, reasons: evidence.into_iter().map(|(_, why)| why).collect() })
}

/// What a reason quotes from the rows, where a viewer might not be allowed to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoted<'a> {
    /// An e-mail address or its domain.
    Email,
    /// A phone number's last digits.
    Phone,
    /// The value of the identifier field with this key.
    Identifier(&'a str),
}

/// What `reason` quotes and the reason with the quote left out ("same
/// phone (ending 1234)" is a phone and "same phone"); `None` for a reason
/// that quotes nothing of that kind (names, external ids).
pub fn quoted(reason: &str) -> Option<(Quoted<'_>, &str)> {
    let (head, _) = reason.split_once(" (")?;
    let what = head.strip_prefix("same ")?;
    let quoted = match what {
        "e-mail" | "e-mail domain" => Quoted::Email,
        "phone" => Quoted::Phone,
        "normalised name" | "external id" => return None,
        key => Quoted::Identifier(key),
    };
    Some((quoted, head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_names_what_it_quotes_and_reads_without_it() {
        assert_eq!(quoted("same e-mail (a@acme.example)"), Some((Quoted::Email, "same e-mail")));
        assert_eq!(quoted("same e-mail domain (acme.example)"), Some((Quoted::Email, "same e-mail domain")));
        assert_eq!(quoted("same phone (ending 1234)"), Some((Quoted::Phone, "same phone")));
        assert_eq!(quoted("same vat_number (fr123)"), Some((Quoted::Identifier("vat_number"), "same vat_number")));
        assert_eq!(quoted("same normalised name (acme)"), None);
        assert_eq!(quoted("same external id (7 in crm and erp)"), None);
        assert_eq!(quoted("similar name (trigram 0.90, edit distance 1)"), None);
    }

    fn customer(name: &str) -> Features {
        Features { name: name.to_owned(), ..Features::default() }
    }

    #[test]
    fn names_are_normalised_before_they_are_compared() {
        assert_eq!(normalise_name(Kind::Customer, "ACME Industrial GmbH"), "acme industrial");
        assert_eq!(normalise_name(Kind::Customer, "Industrial, Acme (Inc.)"), "acme industrial");
        assert_eq!(normalise_name(Kind::Customer, "The Company"), "company the");
        assert_eq!(normalise_name(Kind::Contact, "Dr. Jane Doe"), "doe jane");
        assert_eq!(normalise_name(Kind::Customer, "Brelli & Sons S.A."), "brelli");
    }

    #[test]
    fn one_typing_mistake_anywhere_leaves_a_key_in_common() {
        for (a, b) in [
            ("Hartmann Logistics", "Hartman Logistics"),
            ("Hartmann Logistics", "Hartmann Logistiks"),
            ("Hartmann Logistics", "Hartmann Loxgistics"),
            ("Kim Foods", "Kim Fods"),
            ("Kim Foods", "Kym Foods"),
            ("Vita Foods 16", "Vista Foods 16"),
            ("Nonster", "Nonstex"),
        ] {
            let (ka, kb) = (keys(Kind::Customer, &customer(a)), keys(Kind::Customer, &customer(b)));
            assert!(ka.intersection(&kb).next().is_some(), "{a} / {b}");
        }
    }

    #[test]
    fn pairs_score_by_their_evidence() {
        let Some(same) = score(Kind::Customer, &customer("Acme GmbH"), &customer("ACME Inc.")) else {
            panic!("no match")
        };
        assert_eq!(same.score, 0.85);
        assert_eq!(same.reasons, ["same normalised name (acme)"]);
        let Some(typo) = score(Kind::Customer, &customer("Hartmann Logistics"), &customer("Hartman Logistics")) else {
            panic!("no match")
        };
        assert_eq!(typo.score, 0.75);
        assert!(typo.reasons[0].contains("edit distance 1"), "{:?}", typo.reasons);
        assert_eq!(score(Kind::Customer, &customer("Hartmann Logistics"), &customer("Berger Metals")), None);
        assert_eq!(score(Kind::Customer, &customer("Nord Retail 10"), &customer("Nord Retail 106")), None);
        // One letter in seven: alone, not enough.
        assert_eq!(score(Kind::Customer, &customer("Nonster"), &customer("Nonstex AG")), None);
        let domain_only = |name: &str| Features { emails: vec![format!("x@{name}.com")], ..customer(name) };
        let mut a = domain_only("north");
        a.emails = vec!["a@shared.com".into()];
        let mut b = domain_only("south");
        b.emails = vec!["b@shared.com".into()];
        assert_eq!(score(Kind::Customer, &a, &b), None, "a shared domain alone is not enough");
        let tax = |name: &str| Features { identifiers: vec![("tax_id".into(), "DE 123".into())], ..customer(name) };
        let Some(both) = score(Kind::Customer, &tax("North"), &tax("South")) else { panic!("no match") };
        assert_eq!(both.score, 0.95);
        // Two pieces of evidence: 1 - (1 - 0.85) * (1 - 0.95) = 0.9925, to three decimals.
        let Some(two) = score(Kind::Customer, &tax("Acme"), &tax("ACME Ltd")) else { panic!("no match") };
        assert!((two.score - 0.9925).abs() <= 0.001, "{}", two.score);
        assert_eq!(two.reasons.len(), 2);
    }

    #[test]
    fn contacts_match_by_name_only_within_one_customer() {
        let at = |customer: i64, email: &str| Features {
            customer_id: Some(customer),
            name: "Jane Doe".into(),
            emails: vec![email.into()],
            ..Features::default()
        };
        assert!(score(Kind::Contact, &at(1, "a@x.com"), &at(1, "b@y.com")).is_some());
        assert_eq!(score(Kind::Contact, &at(1, "a@x.com"), &at(2, "b@y.com")), None);
        assert_eq!(score(Kind::Contact, &at(1, "a@x.com"), &at(2, "A@x.com ")).map(|m| m.score), Some(0.9));
    }
}
