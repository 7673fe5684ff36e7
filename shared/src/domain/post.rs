use std::fmt;

use super::Invalid;
use super::text::visible_text;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_CONTENT_CHARS: usize = 50_000;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostTitle(String);

impl PostTitle {
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        let title: String =
            unicode_normalization::UnicodeNormalization::nfc(raw.as_ref().trim()).collect();
        let chars = title.chars().count();
        if chars == 0 {
            return Err(Invalid::new("required", "must not be empty"));
        }
        if chars > MAX_TITLE_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        visible_text(&title)?;
        Ok(Self(title))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Post body, stored exactly as given and only ever returned as JSON (never rendered here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostContent(String);

impl PostContent {
    pub fn parse(raw: String) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() {
            return Err(Invalid::new("required", "must not be empty"));
        }
        if chars > MAX_CONTENT_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CONTENT_CHARS} characters"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostStatus {
    Draft,
    Published,
    Archived,
}

impl PostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::Published => "published",
            PostStatus::Archived => "archived",
        }
    }

    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        match raw.as_ref() {
            "draft" => Ok(PostStatus::Draft),
            "published" => Ok(PostStatus::Published),
            "archived" => Ok(PostStatus::Archived),
            _ => Err(Invalid::new(
                "invalid_status",
                "must be one of: draft, published, archived",
            )),
        }
    }
}

impl fmt::Display for PostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tag in slug form: lowercase letters and digits in groups joined by single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        let tag = raw.as_ref();
        let slug = !tag.is_empty()
            && tag.len() <= MAX_TAG_CHARS
            && tag.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if slug {
            Ok(Self(tag.to_owned()))
        } else {
            Err(Invalid::new(
                "invalid_tag",
                format!(
                    "tags are slugs like `rust-lambda` (a-z, 0-9, single hyphens, at most {MAX_TAG_CHARS})"
                ),
            ))
        }
    }

    /// Up to ten distinct tags, in the order given.
    pub fn parse_list(raw: Vec<String>) -> Result<Vec<Self>, Invalid> {
        let mut tags: Vec<Tag> = Vec::new();
        for item in raw {
            let tag = Tag::parse(item)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(Invalid::new("too_many", format!("at most {MAX_TAGS} tags")));
        }
        Ok(tags)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post as stored. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: String,
    pub author_id: String,
    pub title: PostTitle,
    pub content: PostContent,
    pub status: PostStatus,
    pub tags: Vec<Tag>,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
    /// Set when the author's account is deleted: the post is hidden everywhere.
    pub author_deleted: bool,
}

/// A post as its author submits it.
pub struct NewPost {
    pub title: PostTitle,
    pub content: PostContent,
    pub status: Option<PostStatus>,
    pub tags: Option<Vec<Tag>>,
}

/// An edit: `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    pub title: Option<PostTitle>,
    pub content: Option<PostContent>,
    pub status: Option<PostStatus>,
    pub tags: Option<Vec<Tag>>,
}

/// The instant listings sort a post or its summary by, newest first: publication for a
/// published post, creation otherwise.
pub(super) fn feed_time(status: PostStatus, published_at: Option<i64>, created_at: i64) -> i64 {
    match (status, published_at) {
        (PostStatus::Published, Some(at)) => at,
        _ => created_at,
    }
}

/// Set once, on first publication; unpublishing keeps it.
fn published_at(previous: Option<i64>, status: PostStatus, now: i64) -> Option<i64> {
    previous.or((status == PostStatus::Published).then_some(now))
}

impl Post {
    /// A new post by `author_id`; a draft unless the author says otherwise.
    pub fn new(author_id: &str, new: NewPost, now: i64) -> Self {
        let status = new.status.unwrap_or(PostStatus::Draft);
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            author_id: author_id.to_owned(),
            title: new.title,
            content: new.content,
            status,
            tags: new.tags.unwrap_or_default(),
            published_at: published_at(None, status, now),
            created_at: now,
            updated_at: now,
            version: 1,
            author_deleted: false,
        }
    }

    /// The post after an edit, at the next version.
    pub fn edited(&self, changes: PostChanges, now: i64) -> Self {
        let status = changes.status.unwrap_or(self.status);
        Self {
            title: changes.title.unwrap_or_else(|| self.title.clone()),
            content: changes.content.unwrap_or_else(|| self.content.clone()),
            tags: changes.tags.unwrap_or_else(|| self.tags.clone()),
            status,
            published_at: published_at(self.published_at, status, now),
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The post hidden because its author was deleted, at the next version (so an edit that
    /// read it before cannot bring it back).
    pub fn hidden(&self) -> Self {
        Self {
            author_deleted: true,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The instant listings order this post by: its publication while it is published, its
    /// creation otherwise.
    pub fn feed_time(&self) -> i64 {
        feed_time(self.status, self.published_at, self.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_content_are_bounded() {
        assert!(PostTitle::parse("  ").is_err());
        assert!(PostTitle::parse("a".repeat(200)).is_ok());
        assert!(PostTitle::parse("a".repeat(201)).is_err());
        assert!(PostContent::parse("x".repeat(50_000)).is_ok());
        assert!(PostContent::parse("x".repeat(50_001)).is_err());
        assert!(PostContent::parse(" \n".into()).is_err());
        let html = PostContent::parse("<script>alert(1)</script>".into()).unwrap();
        assert_eq!(
            html.as_str(),
            "<script>alert(1)</script>",
            "stored as given"
        );
    }

    #[test]
    fn tags_are_slugs_deduplicated_and_at_most_ten() {
        assert!(Tag::parse("rust-lambda").is_ok());
        for bad in ["", "Rust", "a--b", "-a", "a-", "a b", "ü", &"a".repeat(51)] {
            assert!(Tag::parse(bad).is_err(), "{bad:?}");
        }
        let tags = Tag::parse_list(vec!["a".into(), "b".into(), "a".into()]).unwrap();
        assert_eq!(tags.len(), 2);
        let eleven = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(Tag::parse_list(eleven).unwrap_err().code, "too_many");
    }

    fn new_post(status: Option<PostStatus>) -> NewPost {
        NewPost {
            title: PostTitle::parse("t").unwrap(),
            content: PostContent::parse("c".into()).unwrap(),
            status,
            tags: None,
        }
    }

    #[test]
    fn a_post_is_a_draft_unless_given_and_publication_time_is_set_once() {
        let draft = Post::new("a", new_post(None), 10);
        assert_eq!(
            (draft.status, draft.published_at, draft.version),
            (PostStatus::Draft, None, 1)
        );
        let published = draft.edited(
            PostChanges {
                status: Some(PostStatus::Published),
                ..Default::default()
            },
            20,
        );
        assert_eq!((published.published_at, published.version), (Some(20), 2));
        let archived = published.edited(
            PostChanges {
                status: Some(PostStatus::Archived),
                ..Default::default()
            },
            30,
        );
        let again = archived.edited(
            PostChanges {
                status: Some(PostStatus::Published),
                ..Default::default()
            },
            40,
        );
        assert_eq!(again.published_at, Some(20));
        assert_eq!(
            Post::new("a", new_post(Some(PostStatus::Published)), 5).published_at,
            Some(5)
        );
    }

    #[test]
    fn listings_order_published_posts_by_publication_and_others_by_creation() {
        let draft = Post::new("a", new_post(None), 10);
        assert_eq!(draft.feed_time(), 10);
        let status = |status| PostChanges {
            status: Some(status),
            ..Default::default()
        };
        let published = draft.edited(status(PostStatus::Published), 20);
        assert_eq!(published.feed_time(), 20);
        let archived = published.edited(status(PostStatus::Archived), 30);
        assert_eq!(
            (archived.published_at, archived.feed_time()),
            (Some(20), 10)
        );
    }

    #[test]
    fn hiding_bumps_the_version() {
        let post = Post::new("a", new_post(None), 10);
        let hidden = post.hidden();
        assert!(hidden.author_deleted);
        assert_eq!(hidden.version, post.version + 1);
    }

    #[test]
    fn titles_reject_invisible_characters() {
        assert!(PostTitle::parse("hello\u{200B}").is_err());
        assert!(PostTitle::parse("line\nbreak").is_err());
        assert!(PostTitle::parse("\u{202E}txt.exe").is_err());
    }
}
