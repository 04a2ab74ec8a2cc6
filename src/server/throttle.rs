//! The per-user submit rate limit (`[server] submit_rate`, `submit_burst`): a token bucket
//! per job owner, so one user (or one portal user, `portal:<id>`) flooding the queue is told
//! `429` with `Retry-After` instead of slowing everyone down.

use crate::config::Rate;
use crate::http::respond::ApiError;
use hyper::StatusCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before the full ones (users quiet long enough) are forgotten.
const KEEP: usize = 4096;

pub struct Throttle {
    rate: Option<Rate>,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    /// `rate` submissions a second on average, `burst` at once; no limit without a rate.
    pub fn new(rate: Option<Rate>, burst: u32) -> Throttle {
        Throttle {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one submission for `owner`, or says (`429`) when the next one will be allowed.
    pub fn take(&self, owner: &str) -> Result<(), ApiError> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= KEEP && !buckets.contains_key(owner) {
            buckets.retain(|_, b| self.refill(*b, rate, now).tokens < self.burst);
        }
        let bucket = buckets.entry(owner.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        *bucket = self.refill(*bucket, rate, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / rate.per_sec).ceil().max(1.0) as u64;
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many submissions from {owner}: at most {} a second, {} at once (the \
                 server's submit_rate and submit_burst); try again in {wait} s",
                rate.per_sec, self.burst
            ),
        )
        .retry_after(wait))
    }

    fn refill(&self, b: Bucket, rate: Rate, now: Instant) -> Bucket {
        let earned = now.saturating_duration_since(b.at).as_secs_f64() * rate.per_sec;
        Bucket {
            tokens: (b.tokens + earned).min(self.burst),
            at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t = Throttle::new(Some(Rate { per_sec: 0.5 }), 3);
        for _ in 0..3 {
            assert!(t.take("ann").is_ok());
        }
        let e = t.take("ann").expect_err("over the burst");
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after, Some(2));
        assert!(e.message.contains("ann"), "{}", e.message);
        // Another owner has a bucket of their own.
        assert!(t.take("bob").is_ok());
        assert!(Throttle::new(None, 1).take("ann").is_ok());
    }
}
