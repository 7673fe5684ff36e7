//! The provisioning URI as a QR code, in SVG: what an authenticator app scans.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG of `text` as a QR code (medium error correction, a quiet zone round it), scaled to
/// at least 200 px; `None` if the text is too long for any QR code (an address of ~2,000
/// characters would be).
pub fn svg_of(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provisioning_uri_makes_a_small_svg() {
        let uri = "otpauth://totp/serverless-backend:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=serverless-backend&algorithm=SHA1&digits=6&period=30";
        let svg = svg_of(uri).unwrap();
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
        // One path step per dark module: ~23 KB for an address of this length.
        assert!(svg.len() < 30_000, "{} bytes", svg.len());
        // The code's modules are the ones the encoder made for this text.
        let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).unwrap();
        assert!(code.width() >= 21);
        assert!(svg_of(&"x".repeat(5_000)).is_none());
    }
}
