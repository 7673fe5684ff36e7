//! A request that mails something to an account if there is one (a reset link, a sign-in mail,
//! a new verification link): counted per source and per address before anything is looked up,
//! the work done in uniform time, and always the same 202 with `message`, so neither the answer
//! nor its timing tells whether the account exists.

use axum::http::StatusCode;
use serde_json::json;

use super::{ApiError, Caller, Response, in_uniform_time, json as json_response};
use crate::App;
use crate::clock::now_ms;
use crate::config::Rule;
use crate::domain::Email;
use crate::limits::with_quota;

/// What a mail request counts and says: its name in the counters, its two limits (per source,
/// per address), and its answer.
pub struct MailRequest<'a> {
    pub route: &'a str,
    pub rules: (Rule, Rule),
    pub message: &'a str,
}

impl MailRequest<'_> {
    /// Counts the request against the address as given (normalised when it parses), then runs
    /// `mail` for a parsed address in uniform time; a malformed one mails nothing and answers
    /// the same.
    pub async fn answer<F, Fut>(
        &self,
        app: &App,
        caller: &Caller,
        email: &str,
        mail: F,
    ) -> Result<Response, ApiError>
    where
        F: FnOnce(Email) -> Fut,
        Fut: Future<Output = Result<(), ApiError>>,
    {
        let (parsed, counted) = Email::as_typed(email);
        let quota = app
            .limits()
            .count_request(self.route, self.rules, caller.ip, &counted, now_ms())
            .await?;
        let outcome = in_uniform_time(async {
            match parsed {
                Some(email) => mail(email).await,
                None => Ok(()),
            }
        })
        .await;
        let answer = outcome.and_then(|()| {
            json_response(StatusCode::ACCEPTED, &json!({ "message": self.message }))
        });
        Ok(with_quota(quota, answer))
    }
}
