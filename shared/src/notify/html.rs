//! HTML escaping for text placed into Telegram `parse_mode: HTML` messages and e-mail bodies.

/// Escapes `&`, `<`, `>`, `"` and `'` so `text` is inert inside HTML text and quoted attributes.
///
/// The apostrophe becomes a numeric entity: Telegram accepts every numeric entity but only
/// `&lt;`, `&gt;`, `&amp;` and `&quot;` by name.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_the_html_specials_and_nothing_else() {
        assert_eq!(
            escape(r#"_ * [ ] ` < > & " '"#),
            "_ * [ ] ` &lt; &gt; &amp; &quot; &#39;"
        );
    }

    #[test]
    fn leaves_plain_and_non_ascii_text_alone() {
        let text = "Ada Lovelace — ünïcödé 🚀 user_name *bold* [link](x)";
        assert_eq!(escape(text), text);
    }

    #[test]
    fn escapes_an_existing_entity_again() {
        assert_eq!(escape("&amp; &lt;b&gt;"), "&amp;amp; &amp;lt;b&amp;gt;");
    }

    #[test]
    fn turns_markup_into_text() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;"
        );
    }
}
