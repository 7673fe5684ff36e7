//! What a listing shows of a post: everything but the body, for which an excerpt stands in.
//! Listings (index entries, tag entries) store only this, so their size does not grow with
//! the body.

use super::post::{Post, PostStatus, PostTitle, Tag, feed_time};

/// Characters of the body an excerpt keeps.
pub const EXCERPT_CHARS: usize = 280;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSummary {
    pub id: String,
    pub author_id: String,
    pub title: PostTitle,
    pub excerpt: String,
    pub status: PostStatus,
    pub tags: Vec<Tag>,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// The start of `content` with runs of whitespace folded to one space, cut after
/// `EXCERPT_CHARS` characters with an ellipsis.
pub fn excerpt(content: &str) -> String {
    let mut out = String::new();
    let mut words = content.split_whitespace();
    let mut chars = 0;
    for word in words.by_ref() {
        let separator = usize::from(!out.is_empty());
        let word_chars = word.chars().count();
        if chars + separator + word_chars > EXCERPT_CHARS {
            let room = EXCERPT_CHARS.saturating_sub(chars + separator);
            if out.is_empty() {
                out.extend(word.chars().take(room));
            }
            out.push('…');
            return out;
        }
        if separator == 1 {
            out.push(' ');
        }
        out.push_str(word);
        chars += separator + word_chars;
    }
    out
}

impl PostSummary {
    /// What listings store and show of `post`.
    pub fn of(post: &Post) -> Self {
        Self {
            id: post.id.clone(),
            author_id: post.author_id.clone(),
            title: post.title.clone(),
            excerpt: excerpt(post.content.as_str()),
            status: post.status,
            tags: post.tags.clone(),
            published_at: post.published_at,
            created_at: post.created_at,
            updated_at: post.updated_at,
            version: post.version,
        }
    }

    /// The instant listings order the post by, as `Post::feed_time`.
    pub fn feed_time(&self) -> i64 {
        feed_time(self.status, self.published_at, self.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_fold_whitespace_and_cut_at_a_word() {
        assert_eq!(excerpt("  Hello\n\n  world\t! "), "Hello world !");
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= EXCERPT_CHARS + 1);
        let one_word = "é".repeat(1000);
        assert_eq!(excerpt(&one_word).chars().count(), EXCERPT_CHARS + 1);
    }
}
