//! Unix accounts as the name service (NSS: `/etc/passwd`, LDAP, …) knows them: a user's uid,
//! primary group and supplementary groups, looked up by name or by uid.
//!
//! A run that switches to an account needs all of these before it forks: the child of a
//! multi-threaded daemon may make only async-signal-safe calls, and NSS lookups are not.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A Unix user and the groups it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    /// Its primary group.
    pub gid: u32,
    /// Every group it is in, the primary one included (`getgrouplist`).
    pub groups: Vec<u32>,
}

impl Account {
    /// The account called `name`; `None` when there is none.
    pub fn by_name(name: &str) -> io::Result<Option<Account>> {
        let cname = CString::new(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a user name"))?;
        lookup(|pwd, buf, result| {
            // SAFETY: every pointer is valid for the sizes given; getpwnam_r writes only there.
            unsafe {
                libc::getpwnam_r(
                    cname.as_ptr(),
                    pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    result,
                )
            }
        })
    }

    /// The account of `uid`; `None` when it has no passwd entry.
    pub fn by_uid(uid: u32) -> io::Result<Option<Account>> {
        lookup(|pwd, buf, result| by_uid_r(uid, pwd, buf, result))
    }

    /// The name of `uid` alone (no group list); `None` when it has no passwd entry.
    pub fn name_of(uid: u32) -> io::Result<Option<String>> {
        Ok(entry(|pwd, buf, result| by_uid_r(uid, pwd, buf, result))?.map(|(name, ..)| name))
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// [`Account::by_name`], looked up at most once a minute per name (see [`Cache`]).
    pub fn cached_by_name(name: &str) -> io::Result<Option<Arc<Account>>> {
        static CACHE: Cache<String, Arc<Account>> = Cache::new();
        CACHE.get(name.to_string(), || {
            Ok(Account::by_name(name)?.map(Arc::new))
        })
    }

    /// [`Account::by_uid`], looked up at most once a minute per uid (see [`Cache`]).
    pub fn cached_by_uid(uid: u32) -> io::Result<Option<Arc<Account>>> {
        static CACHE: Cache<u32, Arc<Account>> = Cache::new();
        CACHE.get(uid, || Ok(Account::by_uid(uid)?.map(Arc::new)))
    }
}

/// How long a looked-up entry is used before it is looked up again.
const TTL: Duration = Duration::from_secs(60);
/// More distinct keys than this and the cache starts over (a bound, not a tuning knob).
const MAX_ENTRIES: usize = 4096;

/// Name-service answers kept for [`TTL`]: `getgrouplist` asks every NSS module (files,
/// systemd, LDAP, …) and can take a quarter of a millisecond, more than the rest of a trivial
/// job's start or of a socket request. A change of a user's groups takes effect within a
/// minute, as with nscd; a name that is not found is looked up again every time.
pub struct Cache<K, V>(Mutex<BTreeMap<K, (Instant, V)>>);

impl<K: Ord, V: Clone> Cache<K, V> {
    pub const fn new() -> Self {
        Cache(Mutex::new(BTreeMap::new()))
    }

    /// The kept answer for `key`, or `look`'s (kept when found).
    pub fn get(
        &self,
        key: K,
        look: impl FnOnce() -> io::Result<Option<V>>,
    ) -> io::Result<Option<V>> {
        let map = || self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, value)) = map().get(&key)
            && at.elapsed() < TTL
        {
            return Ok(Some(value.clone()));
        }
        let Some(value) = look()? else {
            return Ok(None);
        };
        let mut map = map();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (Instant::now(), value.clone()));
        Ok(Some(value))
    }
}

impl<K: Ord, V: Clone> Default for Cache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

fn by_uid_r(
    uid: u32,
    pwd: &mut libc::passwd,
    buf: &mut [u8],
    result: &mut *mut libc::passwd,
) -> libc::c_int {
    // SAFETY: every pointer is valid for the sizes given; getpwuid_r writes only there.
    unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr().cast(), buf.len(), result) }
}

/// The passwd call `call` made for an account, with its group list.
fn lookup(
    call: impl Fn(&mut libc::passwd, &mut [u8], &mut *mut libc::passwd) -> libc::c_int,
) -> io::Result<Option<Account>> {
    let Some((name, uid, gid)) = entry(call)? else {
        return Ok(None);
    };
    let cname = CString::new(name.as_str())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "NUL in a user name"))?;
    let groups = group_list(&cname, gid)?;
    Ok(Some(Account {
        name,
        uid,
        gid,
        groups,
    }))
}

/// Runs a `getpw*_r` call, growing its buffer while it says `ERANGE`: the entry's name, uid
/// and primary gid.
fn entry(
    call: impl Fn(&mut libc::passwd, &mut [u8], &mut *mut libc::passwd) -> libc::c_int,
) -> io::Result<Option<(String, u32, u32)>> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pwd, &mut buf, &mut result);
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: pw_name points at a NUL-terminated string inside `buf`, alive here.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) };
        let name = name.to_str().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidData, "a user name that is not UTF-8")
        })?;
        return Ok(Some((name.to_string(), pwd.pw_uid, pwd.pw_gid)));
    }
}

/// The groups of the user `name` whose primary group is `gid` (which is always among them).
fn group_list(name: &CStr, gid: u32) -> io::Result<Vec<u32>> {
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut count = groups.len() as libc::c_int;
        // SAFETY: `name` is NUL-terminated; `groups` holds `count` entries and getgrouplist
        // writes at most that many (it returns -1 and the count it needs when they are more).
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count.max(0) as usize);
            return Ok(groups);
        }
        if count as usize <= groups.len() || groups.len() >= 1 << 16 {
            return Err(io::Error::other(format!(
                "cannot list the groups of {}",
                name.to_string_lossy()
            )));
        }
        groups.resize(count as usize, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_what_was_found_and_asks_again_for_what_was_not() -> io::Result<()> {
        let cache: Cache<u32, u32> = Cache::new();
        let mut asked = 0;
        for _ in 0..3 {
            assert_eq!(
                cache.get(1, || {
                    asked += 1;
                    Ok(Some(10))
                })?,
                Some(10)
            );
        }
        assert_eq!(asked, 1, "found: asked once");
        for _ in 0..3 {
            assert_eq!(
                cache.get(2, || {
                    asked += 1;
                    Ok(None)
                })?,
                None
            );
        }
        assert_eq!(asked, 4, "not found: asked every time");
        assert!(cache.get(3, || Err(io::Error::other("nss down"))).is_err());
        Ok(())
    }

    #[test]
    fn root_is_found_by_name_and_uid() -> io::Result<()> {
        let by_uid = Account::by_uid(0)?.expect("uid 0 has an entry");
        assert_eq!(by_uid.name, "root");
        assert!(by_uid.groups.contains(&0));
        assert_eq!(Account::by_name("root")?, Some(by_uid));
        assert_eq!(Account::by_name("no-such-user-jobo")?, None);
        assert!(Account::by_name("bad\0name").is_err());
        Ok(())
    }
}
