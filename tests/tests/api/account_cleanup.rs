//! Defect 12: deleting a user with many posts. The `DELETE` does bounded work (the soft delete
//! with its clean-up job, and one page of posts at most) and answers 204 at once; the posts
//! leave every read and listing at once; the clean-up job hides the rest in pages, resumes
//! where a run stopped, and run twice (one after the other or at once) hides and uncounts each
//! post once. Both stores.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{NewPost, Post, PostContent, PostStatus, PostSummary, PostTitle, Role, Tag};
use shared::jobs::{Work, reconcile_outbox, run_account_cleanup};
use shared::metrics::{QueueDepth, QueueDepths, Totals, run_metrics_job};
use shared::store::{Effects, Page, Position, PostQuery, PostStore, RoleHeld, StoreError};
use support::{Account, Call, TestApp, account, account_with_role, body_json};

const POSTS: usize = 250;
/// At most this many posts are hidden by the request itself (one page).
const REQUEST_PAGE: usize = 25;

/// The real post store, counting the clean-up pages asked of it and the posts they may cover.
struct Counting {
    inner: Arc<dyn PostStore>,
    pages: AtomicUsize,
    covered: AtomicUsize,
}

impl Counting {
    /// (pages, posts they may cover) so far.
    fn taken(&self) -> (usize, usize) {
        (
            self.pages.load(Ordering::SeqCst),
            self.covered.load(Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl PostStore for Counting {
    async fn create_post(&self, post: &Post) -> Result<(), StoreError> {
        self.inner.create_post(post).await
    }
    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        self.inner.get_post(id).await
    }
    async fn update_post(
        &self,
        previous: &Post,
        next: &Post,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError> {
        self.inner.update_post(previous, next, held).await
    }
    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError> {
        self.inner.delete_post(post, held).await
    }
    async fn get_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        self.inner.get_posts(ids).await
    }
    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<PostSummary>, StoreError> {
        self.inner.list_posts(query, after, limit).await
    }
    async fn hide_author_posts_page(
        &self,
        author_id: &str,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Option<Position>, StoreError> {
        self.pages.fetch_add(1, Ordering::SeqCst);
        self.covered.fetch_add(limit, Ordering::SeqCst);
        self.inner
            .hide_author_posts_page(author_id, after, limit)
            .await
    }
}

/// The app with a counting post store, and that store.
fn counted(app: TestApp) -> (TestApp, Arc<Counting>) {
    let mut counting = None;
    let app = support::with_posts(app, |inner| {
        let store = Arc::new(Counting {
            inner,
            pages: AtomicUsize::new(0),
            covered: AtomicUsize::new(0),
        });
        counting = Some(store.clone());
        store
    });
    (app, counting.expect("wrapped"))
}

struct NoQueues;

#[async_trait]
impl QueueDepths for NoQueues {
    async fn depths(&self) -> Result<Vec<QueueDepth>, shared::BoxError> {
        Ok(Vec::new())
    }
}

/// The dashboard's totals now.
async fn totals(app: &TestApp) -> Totals {
    app.count().await;
    run_metrics_job(&*app.stores.metrics, &NoQueues, now_ms())
        .await
        .unwrap()
        .0
        .totals
}

/// `count` posts by `author`, through the store (the API would take minutes); every third a
/// draft, each tagged `bulk`. Their ids and versions.
async fn posts_by(app: &TestApp, author: &Account, count: usize) -> Vec<(String, u64)> {
    let posts: Vec<Post> = (0..count)
        .map(|i| {
            let new = NewPost {
                title: PostTitle::parse(format!("Post {i}")).unwrap(),
                content: PostContent::parse(format!("Body {i}")).unwrap(),
                status: Some(if i % 3 == 0 {
                    PostStatus::Draft
                } else {
                    PostStatus::Published
                }),
                tags: Some(vec![Tag::parse("bulk").unwrap()]),
            };
            Post::new(&author.id, new, now_ms())
        })
        .collect();
    for chunk in posts.chunks(25) {
        let created = join_all(chunk.iter().map(|post| app.stores.posts.create_post(post))).await;
        assert!(created.iter().all(Result::is_ok), "{created:?}");
    }
    posts.into_iter().map(|p| (p.id, p.version)).collect()
}

/// How many of these posts the store has hidden, and whether each is at most one version past
/// the one it was created at (a post hidden twice would be two past).
async fn hidden_count(app: &TestApp, posts: &[(String, u64)]) -> usize {
    let mut hidden = 0;
    for (id, version) in posts {
        let stored = app.stores.posts.get_post(id).await.unwrap().unwrap();
        assert!(
            stored.author_deleted,
            "a deleted author's post reads as hidden"
        );
        assert!(stored.version <= version + 1, "{id} hidden more than once");
        hidden += usize::from(stored.version == version + 1);
    }
    hidden
}

/// Every listing a reader could find the posts in: all ids listed, walking every page.
async fn listed_ids(app: &TestApp, author: &Account, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for start in [
        "/api/posts?limit=100".to_owned(),
        "/api/posts?limit=100&include=content".to_owned(),
        "/api/posts?tag=bulk&limit=100".to_owned(),
        format!("/api/posts?author={}&limit=100", author.id),
        "/api/posts?status=draft&limit=100".to_owned(),
    ] {
        let mut path = start.clone();
        loop {
            let page = Call::new(Method::GET, &path).token(token).send(app).await;
            assert_eq!(page.status(), StatusCode::OK, "{path}");
            let page = body_json(&page);
            ids.extend(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["id"].as_str().unwrap().to_owned()),
            );
            match page["nextCursor"].as_str() {
                Some(cursor) => path = format!("{start}&cursor={cursor}"),
                None => break,
            }
        }
    }
    ids
}

/// Relays the outbox as the stream does (an unfinished clean-up comes back to the relay until
/// it is done); how many passes of the stream that took until no clean-up job for `user_id`
/// is left in the outbox.
async fn relay_until_clean(app: &TestApp, user_id: &str) -> usize {
    for passes in 1..=20 {
        app.relay.run_once().await.unwrap();
        if cleanups_for(app, user_id).await == 0 {
            return passes;
        }
    }
    panic!("the clean-up never finished");
}

async fn cleanups_for(app: &TestApp, user_id: &str) -> usize {
    let due = app.stores.outbox.outbox_due(i64::MAX, 1000).await.unwrap();
    due.iter()
        .filter(|job| matches!(&job.work, Work::AccountCleanup { user_id: id } if id == user_id))
        .count()
}

async fn deleting_a_prolific_author_is_quick_and_the_job_hides_the_rest(app: TestApp) {
    let (app, counting) = counted(app);
    let admin = account_with_role(&app, "cleanup-admin@example.com", Role::Admin).await;
    let bystander = account(&app, "bystander@example.com", "Bystander").await;
    let kept = posts_by(&app, &bystander, 1).await;
    let author = account(&app, "prolific@example.com", "Prolific").await;
    let posts = posts_by(&app, &author, POSTS).await;
    let before = totals(&app).await;
    assert_eq!(before.posts, 1 + POSTS as i64);

    let started = Instant::now();
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{}", author.id))
        .token(&admin.access)
        .send(&app)
        .await;
    let took = started.elapsed();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    eprintln!("DELETE of a {POSTS}-post author answered in {took:?}");
    // The request asked for one page of posts at most, never for all of them.
    let (pages, covered) = counting.taken();
    assert!(pages <= 1 && covered <= REQUEST_PAGE, "{pages} {covered}");
    // So most posts are still in the store unhidden (and in the dashboard's totals)...
    let hidden = hidden_count(&app, &posts).await;
    assert!(hidden <= REQUEST_PAGE, "{hidden} hidden by the request");
    assert_eq!(totals(&app).await.posts, (1 + POSTS - hidden) as i64);
    assert_eq!(cleanups_for(&app, &author.id).await, 1);
    // ...but no read shows any of them any more: by id, in every listing, with bodies or not.
    for (id, _) in posts.iter().step_by(25) {
        let path = format!("/api/posts/{id}");
        for token in [None, Some(admin.access.as_str())] {
            let mut call = Call::new(Method::GET, &path);
            if let Some(token) = token {
                call = call.token(token);
            }
            assert_eq!(
                call.send(&app).await.status(),
                StatusCode::NOT_FOUND,
                "{id}"
            );
        }
    }
    let listed = listed_ids(&app, &author, &admin.access).await;
    assert!(listed.iter().all(|id| *id == kept[0].0), "{listed:?}");
    assert!(listed.contains(&kept[0].0), "the bystander's post stays");
    let by_author = Call::new(Method::GET, &format!("/api/users/{}/posts", author.id))
        .send(&app)
        .await;
    assert_eq!(by_author.status(), StatusCode::NOT_FOUND);

    // The clean-up job hides every other post, in pages.
    let pages_before = counting.taken().0;
    let started = Instant::now();
    let passes = relay_until_clean(&app, &author.id).await;
    eprintln!(
        "clean-up of {} posts: {passes} relay pass(es), {} page(s), {:?}",
        POSTS - hidden,
        counting.taken().0 - pages_before,
        started.elapsed()
    );
    assert_eq!(hidden_count(&app, &posts).await, POSTS);
    let after = totals(&app).await;
    assert_eq!(after.posts, 1);
    // Only the bystander's post, a draft, is left counted.
    assert_eq!((after.published, after.drafts), (0, 1), "{after:?}");
    let listed = listed_ids(&app, &author, &admin.access).await;
    assert!(listed.iter().all(|id| *id == kept[0].0), "{listed:?}");

    // A second run finds nothing to do.
    assert!(
        run_account_cleanup(&app.stores, &author.id, far_deadline())
            .await
            .unwrap()
    );
    assert_eq!(hidden_count(&app, &posts).await, POSTS);
    assert_eq!(totals(&app).await, after);
    let kept_post = app
        .stores
        .posts
        .get_post(&kept[0].0)
        .await
        .unwrap()
        .unwrap();
    assert!(!kept_post.author_deleted);
    assert_eq!(kept_post.version, kept[0].1);
}

fn far_deadline() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

async fn the_cleanup_resumes_and_concurrent_runs_hide_each_post_once(app: TestApp) {
    let admin = account_with_role(&app, "resume-admin@example.com", Role::Admin).await;
    let bystander = account(&app, "stays@example.com", "Stays").await;
    posts_by(&app, &bystander, 3).await;
    let author = account(&app, "resumed@example.com", "Resumed").await;
    let posts = posts_by(&app, &author, POSTS).await;
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{}", author.id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after_request = hidden_count(&app, &posts).await;

    // A run with no time left starts no page: the job stays for the next run.
    let done = run_account_cleanup(&app.stores, &author.id, Instant::now())
        .await
        .unwrap();
    assert!(!done);
    assert_eq!(hidden_count(&app, &posts).await, after_request);

    // A run that died after one page of 60...
    app.stores
        .posts
        .hide_author_posts_page(&author.id, None, 60)
        .await
        .unwrap();
    let part = hidden_count(&app, &posts).await;
    assert_eq!(part, after_request + 60);
    assert_eq!(totals(&app).await.posts, (3 + POSTS - part) as i64);

    // ...is resumed by two runs at once, and by two reconciliations at once, which end with every post
    // hidden and uncounted exactly once.
    let runs = join_all([
        run_account_cleanup(&app.stores, &author.id, far_deadline()),
        run_account_cleanup(&app.stores, &author.id, far_deadline()),
    ])
    .await;
    assert!(runs.iter().all(|run| matches!(run, Ok(true))), "{runs:?}");
    let passes = join_all([
        reconcile_outbox(&app.stores, &*app.queue, now_ms() + 1, Duration::ZERO),
        reconcile_outbox(&app.stores, &*app.queue, now_ms() + 1, Duration::ZERO),
    ])
    .await;
    assert!(passes.iter().all(Result::is_ok), "{passes:?}");
    assert_eq!(cleanups_for(&app, &author.id).await, 0);
    assert_eq!(hidden_count(&app, &posts).await, POSTS);
    assert_eq!(totals(&app).await.posts, 3);
}

/// Two clean-ups of the same author started together from the top, with nothing hidden yet.
async fn two_fresh_runs_at_once_uncount_each_post_once(app: TestApp) {
    let author = account(&app, "twice@example.com", "Twice").await;
    let posts = posts_by(&app, &author, 120).await;
    let user = app
        .stores
        .users
        .get_user(&author.id)
        .await
        .unwrap()
        .unwrap();
    app.stores
        .users
        .delete_user(&user, None, now_ms(), &Effects::none(), None)
        .await
        .unwrap();
    let runs =
        join_all((0..2).map(|_| run_account_cleanup(&app.stores, &author.id, far_deadline())))
            .await;
    assert!(runs.iter().all(|run| matches!(run, Ok(true))), "{runs:?}");
    assert_eq!(hidden_count(&app, &posts).await, 120);
    let totals = totals(&app).await;
    assert_eq!((totals.posts, totals.published, totals.drafts), (0, 0, 0));
}

/// A deletion that stopped after the user was marked deleted (no job written): repeating the
/// `DELETE` answers 204 and leaves a clean-up job that hides the rest.
async fn a_repeated_deletion_leaves_a_job_for_what_remains(app: TestApp) {
    let admin = account_with_role(&app, "again-admin@example.com", Role::Admin).await;
    let author = account(&app, "half-gone@example.com", "Half").await;
    let posts = posts_by(&app, &author, 60).await;
    let user = app
        .stores
        .users
        .get_user(&author.id)
        .await
        .unwrap()
        .unwrap();
    app.stores
        .users
        .delete_user(&user, None, now_ms(), &Effects::none(), None)
        .await
        .unwrap();
    assert_eq!(cleanups_for(&app, &author.id).await, 0);
    let again = Call::new(Method::DELETE, &format!("/api/users/{}", author.id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert!(hidden_count(&app, &posts).await <= REQUEST_PAGE);
    assert_eq!(cleanups_for(&app, &author.id).await, 1);
    relay_until_clean(&app, &author.id).await;
    assert_eq!(hidden_count(&app, &posts).await, 60);
    assert_eq!(totals(&app).await.posts, 0);
}

/// An author with fewer posts than a page is done with in the request, dashboard included; the
/// job then finds nothing left.
async fn a_usual_account_is_cleaned_up_by_the_request(app: TestApp) {
    let author = account(&app, "few@example.com", "Few").await;
    let posts = posts_by(&app, &author, 5).await;
    let deleted = Call::new(
        Method::DELETE,
        &format!("/api/users/{}?self=true", author.id),
    )
    .token(&author.access)
    .json(serde_json::json!({ "password": "correct horse battery" }))
    .send(&app)
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(hidden_count(&app, &posts).await, 5);
    assert_eq!(totals(&app).await.posts, 0);
    assert_eq!(relay_until_clean(&app, &author.id).await, 1);
    assert_eq!(hidden_count(&app, &posts).await, 5);
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    deleting_a_prolific_author_is_quick_and_the_job_hides_the_rest => config(),
    the_cleanup_resumes_and_concurrent_runs_hide_each_post_once => config(),
    two_fresh_runs_at_once_uncount_each_post_once => config(),
    a_repeated_deletion_leaves_a_job_for_what_remains => config(),
    a_usual_account_is_cleaned_up_by_the_request => config(),
}
