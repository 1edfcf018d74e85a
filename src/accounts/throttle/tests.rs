//! The throttle against a real SQLite file, on a synthetic clock.

#![allow(clippy::unwrap_used)]

use super::*;

fn limits() -> LoginLimits {
    LoginLimits {
        name_burst: 3,
        name_refill: Duration::from_secs(60),
        client_burst: 5,
        client_refill: Duration::from_secs(10),
        max_entries: 1000,
        ..LoginLimits::default()
    }
}

const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    t: LoginThrottle,
}

async fn fixture(limits: LoginLimits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::db::connect(None, &dir.path().join("t.sqlite"))
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        db,
        t: LoginThrottle::new(&limits),
    }
}

impl Fixture {
    async fn at(&self, ip: IpAddr, name: &str, now: i64) -> Result<Slot, Limited> {
        self.t.reserve_at(&self.db, ip, name, now).await.unwrap()
    }
}

#[tokio::test]
async fn a_name_gets_its_burst_per_client_then_one_per_refill() {
    let f = fixture(limits()).await;
    let now = now_ms();
    for _ in 0..3 {
        f.at(A, "ana", now).await.unwrap();
    }
    let Limited(wait) = f.at(A, "ana", now).await.unwrap_err();
    assert_eq!(wait, Duration::from_secs(60));
    // Another client is not affected.
    f.at(B, "ana", now).await.unwrap();
    // One refill later, one more attempt.
    let later = now + 60_000;
    f.at(A, "ana", later).await.unwrap();
    assert!(f.at(A, "ana", later).await.is_err());
}

#[tokio::test]
async fn a_client_gets_its_burst_over_all_names() {
    let f = fixture(limits()).await;
    let now = now_ms();
    for i in 0..5 {
        f.at(A, &format!("n{i}"), now).await.unwrap();
    }
    let Limited(wait) = f.at(A, "n9", now).await.unwrap_err();
    assert_eq!(wait, Duration::from_secs(10));
    f.at(B, "n9", now).await.unwrap();
}

#[tokio::test]
async fn a_refusal_takes_nothing_from_either_bucket() {
    let f = fixture(limits()).await;
    let now = now_ms();
    for _ in 0..3 {
        f.at(A, "ana", now).await.unwrap();
    }
    for _ in 0..100 {
        assert!(f.at(A, "ana", now).await.is_err());
    }
    // The client bucket lost only the three checked attempts.
    f.at(A, "bo", now).await.unwrap();
    f.at(A, "bo", now).await.unwrap();
    assert!(f.at(A, "cy", now).await.is_err());
}

#[tokio::test]
async fn success_gives_the_slot_back_and_clears_the_name() {
    let f = fixture(limits()).await;
    let now = now_ms();
    for _ in 0..2 {
        let _failed = f.at(A, "ana", now).await.unwrap();
    }
    let ok = f.at(A, "ana", now).await.unwrap();
    f.t.succeeded(&f.db, ok).await.unwrap();
    // The give-back is stamped with the real clock: stay on it.
    let now = now_ms();
    for _ in 0..3 {
        f.at(A, "ana", now).await.unwrap();
    }
    // 2 failures + 3 new = 5 taken from the client; the success was given back.
    assert!(f.at(A, "bo", now).await.is_err());
}

#[tokio::test]
async fn an_unchecked_attempt_costs_nothing() {
    let f = fixture(limits()).await;
    for _ in 0..50 {
        let slot = f.t.reserve(&f.db, A, "ana").await.unwrap().unwrap();
        f.t.unchecked(&f.db, slot).await.unwrap();
    }
    assert_eq!(f.t.len(&f.db).await.unwrap(), 0);
}

#[tokio::test]
async fn ipv6_clients_are_keyed_by_their_64() {
    let f = fixture(limits()).await;
    let now = now_ms();
    for i in 0..5u16 {
        let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, i, i, i, i));
        f.at(ip, &format!("n{i}"), now).await.unwrap();
    }
    let other_host = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
    assert!(f.at(other_host, "n9", now).await.is_err());
    let other_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 9, 9, 9, 9));
    f.at(other_net, "n9", now).await.unwrap();
}

#[tokio::test]
async fn the_table_is_bounded_by_pruning_and_the_cap() {
    let f = fixture(LoginLimits {
        max_entries: 100,
        client_burst: 1000,
        ..limits()
    })
    .await;
    let now = now_ms();
    let long = "x".repeat(100_000);
    let mut refused = 0;
    for i in 0..1000 {
        if f.at(A, &format!("{long}{i}"), now).await.is_err() {
            refused += 1;
        }
    }
    // Counted every tenth of the cap: the table overshoots by at most that much.
    let live = f.t.len(&f.db).await.unwrap();
    assert!((100..=111).contains(&live), "{live} buckets");
    assert!(refused >= 889, "{refused} refused");
    // Once the buckets have refilled they are pruned and new names are taken again.
    let later = now + 3_600_000;
    sqlx::query("DELETE FROM login_bucket WHERE full_at_ms <= $1")
        .bind(later)
        .execute(&f.db)
        .await
        .unwrap();
    *f.t.census.lock().unwrap() = Census {
        at: None,
        since: 0,
        crowded: false,
    };
    f.at(A, "new", later).await.unwrap();
}
