//! IAM is eventually consistent: a new access key or role can take ten
//! seconds or more before STS accepts it. Calls that depend on one are
//! retried on the errors that mean "not yet", for a bounded time.

use std::time::Duration;

/// How long a new key or role is given to start working.
pub const BUDGET: Duration = Duration::from_secs(60);

/// The pauses between attempts: short at first, as most keys work within
/// seconds, then steady.
fn pause(attempt: u32) -> Duration {
    Duration::from_millis(match attempt {
        0 => 500,
        1 => 1000,
        2 => 2000,
        _ => 4000,
    })
}

/// Calls `attempt` until it succeeds, fails for a reason `not_yet` does not
/// accept, or `budget` is spent (sleeping with `sleep`). Returns the last
/// result and how many attempts were made.
pub fn until<T, E>(
    budget: Duration,
    sleep: &mut dyn FnMut(Duration),
    not_yet: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> (Result<T, E>, u32) {
    let mut waited = Duration::ZERO;
    let mut n = 0;
    loop {
        let r = attempt();
        n += 1;
        match &r {
            Err(e) if not_yet(e) && waited < budget => {
                let p = pause(n - 1).min(budget - waited);
                sleep(p);
                waited += p;
            }
            _ => return (r, n),
        }
    }
}

/// [`until`] for an STS call with a new key: real sleeps, [`BUDGET`], and
/// [`is_not_yet`]'s errors retried.
pub fn sts<T>(
    attempt: impl FnMut() -> Result<T, crate::sts::StsError>,
) -> (Result<T, crate::sts::StsError>, u32) {
    until(
        BUDGET,
        &mut |d| std::thread::sleep(d),
        |e: &crate::sts::StsError| is_not_yet(e.code()),
        attempt,
    )
}

/// STS error codes that a key or role too new to have reached STS gets.
pub fn is_not_yet(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidClientTokenId" | "AccessDenied" | "SignatureDoesNotMatch")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_what_may_be_too_new_and_only_within_the_budget() {
        let mut slept = Vec::new();
        let mut calls = 0;
        let (r, n) = until(
            Duration::from_secs(60),
            &mut |d| slept.push(d),
            |e: &&str| *e == "InvalidClientTokenId",
            || {
                calls += 1;
                if calls < 4 {
                    Err("InvalidClientTokenId")
                } else {
                    Ok(calls)
                }
            },
        );
        assert_eq!((r, n), (Ok(4), 4));
        assert_eq!(slept.len(), 3);

        let (r, n) = until(
            Duration::from_secs(60),
            &mut |_| panic!("a final error is not retried"),
            |e: &&str| *e == "InvalidClientTokenId",
            || Err::<(), _>("ExpiredToken"),
        );
        assert_eq!((r, n), (Err("ExpiredToken"), 1));

        let mut total = Duration::ZERO;
        let (r, n) = until(
            Duration::from_secs(10),
            &mut |d| total += d,
            |_: &&str| true,
            || Err::<(), _>("InvalidClientTokenId"),
        );
        assert!(r.is_err());
        assert_eq!(total, Duration::from_secs(10));
        assert_eq!(n, 6, "0.5 + 1 + 2 + 4 + 2.5 s between six tries");
    }
}
