//! Phone numbers, parsed and normalised to E.164.

use phonenumber::country::Id;
use shared::domain::Invalid;

const MAX_RAW_CHARS: usize = 40;

/// `+<country><number>`, or a national number in `default_region`.
pub fn parse_phone(raw: &str, default_region: Option<&str>) -> Result<String, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Invalid::new("required", "must not be empty"));
    }
    if raw.chars().count() > MAX_RAW_CHARS {
        return Err(Invalid::new("invalid_phone", "is not a phone number"));
    }
    let region = default_region.and_then(|r| r.to_ascii_uppercase().parse::<Id>().ok());
    let number = phonenumber::parse(region, raw).map_err(|_| {
        Invalid::new(
            "invalid_phone",
            "is not a phone number (start with + and the country code)",
        )
    })?;
    if !phonenumber::is_valid(&number) {
        return Err(Invalid::new("invalid_phone", "is not a valid phone number"));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Loads the metadata every parse needs (it loads once per process, on first use).
pub fn load_metadata() {
    let _ = parse_phone("+1 415 555 2671", None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_normalise_to_e164() {
        assert_eq!(
            parse_phone("+1 (415) 555-2671", None).unwrap(),
            "+14155552671"
        );
        assert_eq!(
            parse_phone("+44 20 7946 0958", None).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            parse_phone("(415) 555-2671", Some("us")).unwrap(),
            "+14155552671"
        );
        assert!(parse_phone("(415) 555-2671", None).is_err());
        assert!(parse_phone("+1 123", None).is_err());
        assert!(parse_phone("call me", None).is_err());
        assert!(parse_phone(&"1".repeat(500), None).is_err());
        assert!(parse_phone("", None).is_err());
    }
}
