//! WebSub (W3C Recommendation, section 7): after a publish that changed an
//! RSS or Atom output, its hub is told the feed's self URL
//! (`hub.mode=publish`), so subscribers hear of new items at once instead
//! of at their next poll. A ping that fails is logged and retried a few
//! times; it never fails the run.

use std::time::Duration;

use url::Url;

use crate::config::{Format, Settings};
use crate::publish::Written;

/// Tries per ping, and the pause before the second (doubled after).
const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// One hub to tell of one changed feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The hub's endpoint.
    pub hub: Url,
    /// The feed's self URL (`hub.url`), as the feed itself advertises it.
    pub topic: Url,
}

/// The pings a publish calls for: each changed RSS or Atom file of an
/// output that names a hub.
#[must_use]
pub fn pings(settings: &Settings, written: &[Written]) -> Vec<Ping> {
    let mut pings = Vec::new();
    for output in &settings.outputs {
        let Some(hub) = &output.websub_hub else {
            continue;
        };
        for format in [Format::Rss, Format::Atom] {
            if !output.formats.contains(&format) {
                continue;
            }
            let file = format!("{}.{}", output.name, format.extension());
            let changed = written
                .iter()
                .any(|w| w.changed && w.path == settings.output_dir.join(&file));
            if let (true, Ok(topic)) = (changed, settings.public_url.join(&file)) {
                pings.push(Ping {
                    hub: hub.clone(),
                    topic,
                });
            }
        }
    }
    pings
}

/// Sends every ping (each with its retries, the settings' timeout and user
/// agent), logging the result of each. Returns how many hubs acknowledged.
pub async fn send(pings: Vec<Ping>, settings: &Settings) -> usize {
    if pings.is_empty() {
        return 0;
    }
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .user_agent(&settings.user_agent)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "WebSub: no HTTP client; hubs not told.");
            return 0;
        }
    };
    let mut acknowledged = 0;
    for ping in pings {
        match send_one(&client, &ping).await {
            Ok(status) => {
                acknowledged += 1;
                tracing::info!(hub = %ping.hub, topic = %ping.topic, status, "WebSub: told the hub.");
            }
            Err(e) => {
                tracing::warn!(hub = %ping.hub, topic = %ping.topic, error = %e, "WebSub: the hub was not told; subscribers see the change at their next poll.");
            }
        }
    }
    acknowledged
}

async fn send_one(client: &reqwest::Client, ping: &Ping) -> Result<u16, String> {
    let mut pause = FIRST_PAUSE;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(ping.hub.clone())
            .form(&[("hub.mode", "publish"), ("hub.url", ping.topic.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(r.status().as_u16()),
            // A client error will not change on a retry.
            Ok(r) if r.status().is_client_error() => {
                return Err(format!("the hub answered HTTP {}", r.status().as_u16()));
            }
            Ok(r) => last = format!("the hub answered HTTP {}", r.status().as_u16()),
            Err(e) => last = crate::source::http::chain(&e),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    Err(format!("{last} ({ATTEMPTS} tries)"))
}
