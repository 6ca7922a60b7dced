//! Politeness towards the sites we read: at most two requests at a time to
//! one host, robots.txt honoured for scraped pages (read once per site per
//! run), and a minimum delay between one source's page requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::model::Validators;

use super::http;

/// Requests in flight to one host at most, unless configured otherwise.
pub const PER_HOST: usize = 2;

/// Largest robots.txt read; the rest is ignored.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// The robots token feedloom answers to in `User-agent:` lines.
const ROBOTS_AGENT: &str = "feedloom";

/// Shared by every fetch of one run.
pub struct Politeness {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    robots: tokio::sync::Mutex<HashMap<String, Option<Arc<texting_robots::Robot>>>>,
}

impl Default for Politeness {
    fn default() -> Self {
        Self::new(PER_HOST)
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Politeness {
    /// Allows `per_host` requests at a time to one host.
    #[must_use]
    pub fn new(per_host: usize) -> Self {
        Self {
            per_host: per_host.max(1),
            hosts: Mutex::default(),
            robots: tokio::sync::Mutex::default(),
        }
    }

    /// Waits for one of the host's request slots.
    #[allow(clippy::missing_panics_doc)] // The semaphores are never closed.
    pub async fn permit(&self, url: &Url) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut hosts = self
                .hosts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            hosts
                .entry(url.host_str().unwrap_or_default().to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        semaphore
            .acquire_owned()
            .await
            .expect("semaphores are never closed")
    }

    /// Whether the site's robots.txt lets feedloom read `url`. A missing or
    /// unreadable robots.txt allows everything, as crawlers agree.
    pub async fn allowed(&self, client: &http::Client, fetch: http::Fetch<'_>, url: &Url) -> bool {
        let key = origin(url);
        let mut cache = self.robots.lock().await;
        if !cache.contains_key(&key) {
            let robot = match url.join("/robots.txt") {
                Ok(robots_url) => {
                    let _permit = self.permit(&robots_url).await;
                    let fetch = http::Fetch {
                        source_name: "robots.txt",
                        ..fetch
                    };
                    match http::get(
                        client,
                        fetch,
                        &robots_url,
                        &Validators::default(),
                        MAX_ROBOTS_BYTES,
                    )
                    .await
                    {
                        Ok(http::Response::Body { bytes, .. }) => {
                            texting_robots::Robot::new(ROBOTS_AGENT, &bytes)
                                .ok()
                                .map(Arc::new)
                        }
                        _ => None,
                    }
                }
                Err(_) => None,
            };
            cache.insert(key.clone(), robot);
        }
        cache
            .get(&key)
            .and_then(Option::as_ref)
            .is_none_or(|robot| robot.allowed(url.as_str()))
    }
}

/// Spaces one source's requests by at least `delay`.
pub struct Pacer {
    delay: Duration,
    last: Option<Instant>,
}

impl Pacer {
    /// A pacer that lets the first request through at once.
    #[must_use]
    pub fn new(delay: Duration) -> Self {
        Self { delay, last: None }
    }

    /// Waits until `delay` has passed since the previous request.
    pub async fn wait(&mut self) {
        if let Some(last) = self.last {
            // `delay` is configured: saturate rather than panic on a huge one.
            let due = last
                .checked_add(self.delay)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
            if due > Instant::now() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        self.last = Some(Instant::now());
    }
}
