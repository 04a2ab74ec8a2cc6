//! `jobo` on a pseudo-terminal, as a person runs it: its stdin, stdout and stderr are the
//! terminal, which is its controlling one, so a `\x03` typed into it is a Ctrl-C (SIGINT to
//! its process group) and indicatif sees a terminal to draw on.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Everything the terminal showed so far, and whether it was closed; signalled on change.
type Screen = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

pub struct Pty {
    child: Child,
    master: std::fs::File,
    screen: Screen,
}

impl Pty {
    /// Starts `cmd` on a new 120x40 terminal, in a session of its own.
    pub fn spawn(cmd: &mut Command) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&size, None).expect("openpty");
        let slave = std::fs::File::from(pty.slave);
        cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave.try_clone().expect("dup")));
        // SAFETY: setsid, ioctl and signal are async-signal-safe; they make the terminal
        // (fd 0) the controlling terminal of the child's new session, and give Ctrl-C and
        // Ctrl-\ their default actions, as a login on a terminal has them: a test run started
        // in the background of a non-interactive shell inherits them ignored.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for sig in [libc::SIGINT, libc::SIGQUIT] {
                    if libc::signal(sig, libc::SIG_DFL) == libc::SIG_ERR {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on the terminal");
        drop(slave);
        let master = std::fs::File::from(pty.master);
        let screen: Screen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let mut reader = master.try_clone().expect("dup master");
        let shared = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                // EIO once the child and every copy of the slave are gone.
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, ready) = &*shared;
                let mut s = lock.lock().expect("screen");
                if n == 0 {
                    s.1 = true;
                    ready.notify_all();
                    return;
                }
                s.0.extend_from_slice(&buf[..n]);
                ready.notify_all();
            }
        });
        Pty {
            child,
            master,
            screen,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the terminal showed so far, lossily decoded (escape sequences and all).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.screen.0.lock().expect("screen").0).into_owned()
    }

    /// Waits up to `secs` for `needle` on the terminal; returns everything shown.
    pub fn expect(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (lock, ready) = &*self.screen;
        let mut s = lock.lock().expect("screen");
        loop {
            let text = String::from_utf8_lossy(&s.0).into_owned();
            if text.contains(needle) {
                return text;
            }
            let now = Instant::now();
            assert!(
                now < deadline && !s.1,
                "'{needle}' not on the terminal after {secs} s:\n{text}"
            );
            s = ready.wait_timeout(s, deadline - now).expect("screen").0;
        }
    }

    /// Types `keys` (`b"\x03"` is Ctrl-C).
    pub fn send(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("type");
    }

    /// Waits up to `secs` for the program to end (its terminal closes with it); returns its
    /// status and all it showed.
    pub fn wait(mut self, secs: u64) -> (ExitStatus, String) {
        let closed = {
            let (lock, ready) = &*self.screen;
            let s = lock.lock().expect("screen");
            let (s, _) = ready
                .wait_timeout_while(s, Duration::from_secs(secs), |s| !s.1)
                .expect("screen");
            s.1
        };
        assert!(closed, "still running after {secs} s:\n{}", self.output());
        let status = self.child.wait().expect("wait");
        (status, self.output())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
