//! Listings, newest first, each served by an index query: `GET /api/posts` (`?author=`,
//! `?tag=`, `?status=`) and `GET /api/users/{id}/posts`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use shared::auth::{AuthError, Principal};
use shared::domain::{Post, PostStatus, PostSummary, Tag};
use shared::http::{
    ApiError, Params, PathId, PostSummaryView, PostView, Response, page_body, page_request,
    private_json, shared_json,
};
use shared::permissions::{may_list_unpublished, may_read_post};
use shared::secrets::KeyProvider;
use shared::store::{Page, PostQuery, PostStore, Stores};

fn status_filter(params: &Params) -> Result<Option<PostStatus>, ApiError> {
    params
        .get("status")?
        .map(PostStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.message))
}

/// A page of published posts an anonymous caller asked for: any cache (a browser, CloudFront,
/// a proxy) may serve it for `max-age` (10 s), then keep serving it for `stale-while-revalidate`
/// (30 s more) while it fetches a fresh one. Short, because together they bound how late a
/// publish, an edit or an unpublish shows in the feed (40 s at most); long enough that a crowd
/// reading the same page costs about one store read per URL per 10 s per cache instead of one
/// per reader. A single post changes less often and keeps longer times (`single.rs`).
pub const FEED_CACHE: &str = "public, max-age=10, stale-while-revalidate=30";

/// A page's JSON stays far below Lambda's 6 MB response limit whatever the posts hold: a page
/// ends early at this size and its cursor resumes after the last post that fit.
pub const PAGE_MAX_BYTES: usize = 1024 * 1024;

/// A listed post: a summary, or the whole post with `?include=content`.
#[derive(Clone, Serialize)]
#[serde(untagged)]
enum Listed {
    Summary(PostSummaryView),
    Full(PostView),
}

fn include_content(params: &Params) -> Result<bool, ApiError> {
    match params.get("include")? {
        None => Ok(false),
        Some("content") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "invalid_include",
            "include may only be `content`",
        )),
    }
}

/// Bodies read in the first batch of an `include=content` page. Later batches are sized from
/// the bodies read so far to fill what is left of `PAGE_MAX_BYTES`, so a page of large posts
/// reads little more than it returns (a body is at most ~200 KB).
const FIRST_BODIES: usize = 8;

/// How many of the `left` listed posts to turn into items next.
fn chunk_size(with_content: bool, kept: usize, bytes: usize, left: usize) -> usize {
    if !with_content {
        return left;
    }
    let wanted = match bytes.checked_div(kept) {
        None | Some(0) => FIRST_BODIES,
        Some(average) => PAGE_MAX_BYTES.saturating_sub(bytes) / average + 1,
    };
    wanted.clamp(1, left)
}

/// The listed posts, with bodies if asked for (read in one batch).
async fn listed<'a>(
    posts: &dyn PostStore,
    summaries: &'a [PostSummary],
    with_content: bool,
    query: &PostQuery,
    viewer: Option<&Principal>,
) -> Result<Vec<(&'a PostSummary, Listed)>, ApiError> {
    if !with_content {
        return Ok(summaries
            .iter()
            .map(|s| (s, Listed::Summary(PostSummaryView::from(s))))
            .collect());
    }
    let ids: Vec<String> = summaries.iter().map(|s| s.id.clone()).collect();
    let mut posts: HashMap<String, Post> = posts
        .get_posts(&ids)
        .await?
        .into_iter()
        .map(|post| (post.id.clone(), post))
        .collect();
    // A post deleted or hidden since the index was read is left out, and so is one that left
    // the listing (unpublished, retagged) or that the viewer may no longer read: its body now
    // may be a draft.
    Ok(summaries
        .iter()
        .filter_map(|s| {
            posts
                .remove(&s.id)
                .filter(|post| query.admits(post) && may_read_post(viewer, post))
                .map(|post| (s, Listed::Full(PostView::from(&post))))
        })
        .collect())
}

async fn respond(
    posts: &dyn PostStore,
    keys: &KeyProvider,
    viewer: Option<&Principal>,
    request: &HeaderMap,
    params: &Params,
    query: PostQuery,
    listing: String,
) -> Result<Response, ApiError> {
    let keys = keys.current().await;
    let page_request = page_request(params, &keys, &listing)?;
    let with_content = include_content(params)?;
    let page = posts
        .list_posts(&query, page_request.after.as_ref(), page_request.limit)
        .await?;
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut next = page.next;
    let mut last_kept = None;
    let mut rest = &page.items[..];
    'fill: while !rest.is_empty() {
        let take = chunk_size(with_content, items.len(), bytes, rest.len());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        for (summary, item) in listed(posts, chunk, with_content, &query, viewer).await? {
            let size = serde_json::to_vec(&item)
                .map(|json| json.len())
                .unwrap_or(0);
            if bytes + size > PAGE_MAX_BYTES && !items.is_empty() {
                next = last_kept.map(|kept| query.position_after(kept));
                break 'fill;
            }
            bytes += size;
            last_kept = Some(summary);
            items.push(item);
        }
    }
    let body = page_body(Page { items, next }, &keys, &listing, Listed::clone);
    // Published posts asked for without credentials: the answer is the same for everyone who
    // sends this URL, so any cache may share it. With an `Authorization` header the caller may
    // see drafts, or be refused, so no cache keeps it (`Vary: Authorization` on both).
    if viewer.is_none() && query.status == Some(PostStatus::Published) {
        shared_json(request, &body, FEED_CACHE)
    } else {
        private_json(&body)
    }
}

pub async fn feed(
    State(stores): State<Stores>,
    State(keys): State<KeyProvider>,
    viewer: Option<Principal>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    let author = params
        .get("author")?
        .map(|raw| {
            shared::http::parse_id(raw).ok_or_else(|| {
                let mut errors = shared::domain::FieldErrors::default();
                errors.push(
                    "author",
                    shared::domain::Invalid::new("invalid_id", "must be a user id"),
                );
                ApiError::Validation(errors.into_vec())
            })
        })
        .transpose()?;
    let tag = params
        .get("tag")?
        .map(Tag::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_tag", e.message))?;
    let query = PostQuery::feed(author, tag, status_filter(&params)?);
    let status = query.listed_status();
    if status != PostStatus::Published {
        let viewer = viewer.as_ref().ok_or(AuthError::MissingToken)?;
        if !may_list_unpublished(viewer, query.author.as_deref()) {
            return Err(ApiError::Forbidden);
        }
    }
    let listing = format!(
        "posts|{}|{}|{status}",
        query.author.as_deref().unwrap_or(""),
        query.tag.as_ref().map(Tag::as_str).unwrap_or("")
    );
    let posts = &*stores.posts;
    let viewer = viewer.as_ref();
    respond(posts, &keys, viewer, &headers, &params, query, listing).await
}

/// All of an author's posts for the author and staff; published ones for everyone else.
pub async fn by_author(
    State(stores): State<Stores>,
    State(keys): State<KeyProvider>,
    viewer: Option<Principal>,
    PathId(author_id): PathId,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    let author = stores.users.get_user(&author_id).await?;
    if !author.is_some_and(|a| a.is_active()) {
        return Err(ApiError::NotFound);
    }
    let sees_all = viewer
        .as_ref()
        .is_some_and(|v| may_list_unpublished(v, Some(&author_id)));
    let status = match status_filter(&params)? {
        Some(PostStatus::Published) => Some(PostStatus::Published),
        Some(other) if sees_all => Some(other),
        Some(_) => return Err(ApiError::Forbidden),
        None if sees_all => None,
        None => Some(PostStatus::Published),
    };
    let listing = format!(
        "user-posts|{author_id}|{}",
        status.map(PostStatus::as_str).unwrap_or("all")
    );
    respond(
        &*stores.posts,
        &keys,
        viewer.as_ref(),
        &headers,
        &params,
        PostQuery::by_author(&author_id, status),
        listing,
    )
    .await
}
