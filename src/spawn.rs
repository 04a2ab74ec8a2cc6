//! Starting a run's process without forking jobod, and waiting for it through a pidfd.
//!
//! `posix_spawn`, which the standard library uses where it can, is a vfork-like clone: the
//! child borrows jobod's memory until it execs. But glibc's child then reads and resets the
//! 64 signal dispositions one by one, and checks every file action against `RLIMIT_NOFILE`:
//! about 100 system calls per job (of ≈ 690, bash's own included), more than the rest of its
//! start. And anything the standard library
//! cannot express (a child that moves itself into a cgroup v2 slot, or sets `RLIMIT_AS`)
//! forces a `fork` of the whole multi-threaded daemon, page tables and all.
//!
//! [`Spec::spawn`] makes the same kind of clone (`CLONE_VM | CLONE_VFORK`, all signals
//! blocked around it), and its child does only what a run needs: default dispositions for
//! the 29 standard signals that can have one, a process group of its own, its cgroup and
//! rlimit, its stdio, its directory, then `execve`. Its `CLONE_PIDFD` descriptor tells the
//! runtime when it exits, and reaping it through that descriptor returns its resource usage
//! as well (what `run.sh` and the children it waited for used), so no signal handler and no
//! second wait is involved.
//!
//! The child inherits the spawning thread's credentials, cgroups (v1) and network namespace,
//! which is how runs start as their account, in their slot, without a network (see
//! src/as_user.rs, src/cgroup/spawner.rs, src/netns.rs).
//!
//! Kernels without pidfds that can be waited on (before Linux 5.4) get the runtime's
//! `Command` instead, with the cgroup and rlimit steps as `pre_exec` (a fork there).

use crate::api::Usage;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// What to start: `program` with `args` and only `env`, in `cwd`, in a process group of its
/// own, stdin from `/dev/null`, stdout and stderr to pipes.
pub struct Spec {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    /// `cgroup.procs` of the cgroup v2 slot the child moves itself into before it execs.
    pub place: Option<RawFd>,
    /// `RLIMIT_AS` the child sets itself before it execs.
    pub memory_rlimit: Option<u64>,
}

/// A started run.
pub struct Child {
    pid: u32,
    exit: Exit,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
}

/// How a child's exit is waited for.
enum Exit {
    /// Its pidfd, reaped by [`Child::wait`].
    Pidfd(AsyncFd<OwnedFd>),
    /// The runtime's child (before Linux 5.4).
    Runtime(tokio::process::Child),
    /// Reaped already.
    Reaped(ExitStatus),
}

/// Which step of the child's set-up failed (the errno says why).
#[derive(Clone, Copy)]
#[repr(u8)]
enum Step {
    Group = 1,
    Cgroup,
    Rlimit,
    Stdio,
    Chdir,
    Exec,
}

impl Step {
    fn of(n: u8) -> &'static str {
        match n {
            1 => "setpgid",
            2 => "cannot enter its cgroup",
            3 => "setrlimit",
            4 => "cannot set up stdin/stdout/stderr",
            5 => "cannot enter its directory",
            _ => "cannot execute",
        }
    }
}

impl Spec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Spec {
        Spec {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: cwd.into(),
            place: None,
            memory_rlimit: None,
        }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Spec {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Spec {
        let key = key.as_ref();
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Starts the child, from within a tokio runtime (its exit and pipes are registered
    /// there). Its pid is not known to be reaped by anyone else until [`Child::wait`].
    pub fn spawn(&self) -> io::Result<Child> {
        if own_spawn_works() {
            self.clone_vfork()
        } else {
            self.runtime_spawn()
        }
    }

    /// The candidates `execve` tries, in order: `program` itself when it names a path, else
    /// `program` in each entry of the child's `PATH`, as `execvp` searches (an empty entry is
    /// the working directory).
    fn candidates(&self) -> io::Result<Vec<CString>> {
        let name = self.program.as_os_str().as_bytes();
        if name.contains(&b'/') {
            return Ok(vec![cstring(name)?]);
        }
        let path = self
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_bytes())
            .unwrap_or(b"/usr/bin:/bin");
        path.split(|b| *b == b':')
            .map(|dir| {
                let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
                cstring(&[dir, b"/", name].concat())
            })
            .collect()
    }

    fn clone_vfork(&self) -> io::Result<Child> {
        let paths = self.candidates()?;
        let argv_owned: Vec<CString> = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| cstring(a.as_bytes()))
            .collect::<io::Result<_>>()?;
        let env_owned: Vec<CString> = self
            .env
            .iter()
            .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
            .collect::<io::Result<_>>()?;
        let null_terminated = |v: &[CString]| {
            v.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let stdin = std::fs::File::open("/dev/null")?;
        let (out_r, out_w) = pipe_cloexec()?;
        let (err_r, err_w) = pipe_cloexec()?;
        // Our ends readied before the clone: after it, only the pidfd's registration can fail.
        let receiver = |fd: OwnedFd| -> io::Result<pipe::Receiver> {
            set_nonblocking(&fd)?;
            pipe::Receiver::from_owned_fd_unchecked(fd)
        };
        let (stdout, stderr) = (receiver(out_r)?, receiver(err_r)?);
        let rlimit = self.memory_rlimit.map(|bytes| libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        });
        let args = ChildArgs {
            paths: null_terminated(&paths),
            argv: null_terminated(&argv_owned),
            envp: null_terminated(&env_owned),
            cwd: cstring(self.cwd.as_os_str().as_bytes())?,
            stdio: [stdin.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
            place: self.place,
            rlimit,
            errno: AtomicI32::new(0),
            step: AtomicU8::new(0),
        };
        let stack = Stack::new()?;
        let mut pidfd: libc::c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
        // SAFETY: all signals are blocked on this thread across the clone, so no handler of
        // jobod's runs on the child's stack; the child runs `child_main` on `stack` with
        // `args`, both alive until it has exec'd or exited (CLONE_VFORK suspends this thread
        // till then); `pidfd` is the live out-value CLONE_PIDFD writes.
        let pid = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let pid = libc::clone(
                child_main,
                stack.top(),
                flags,
                &args as *const ChildArgs as *mut libc::c_void,
                &mut pidfd as *mut libc::c_int,
            );
            let cloned = if pid < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(pid)
            };
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            cloned?
        };
        drop(stack);
        // SAFETY: CLONE_PIDFD gave this new descriptor to us alone.
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        let errno = args.errno.load(Ordering::Relaxed);
        if errno != 0 {
            // The child exited without exec: reap it, say why.
            let _ = wait_pid(pid);
            let e = io::Error::from_raw_os_error(errno);
            let step = args.step.load(Ordering::Relaxed);
            return Err(match step {
                // As the standard library reports them: the errno alone.
                s if s == Step::Chdir as u8 || s == Step::Exec as u8 => e,
                s => io::Error::new(e.kind(), format!("{}: {e}", Step::of(s))),
            });
        }
        drop((stdin, out_w, err_w));
        // SAFETY: the AsyncFd owns `pidfd`, which stays open and the same until it is dropped.
        let exit = unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) };
        let exit = match exit {
            Ok(fd) => Exit::Pidfd(fd),
            Err(e) => {
                // Not to be left unreaped: it was never registered.
                // SAFETY: killing our own child, just cloned.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                let _ = wait_pid(pid);
                return Err(e.into());
            }
        };
        Ok(Child {
            pid: pid as u32,
            exit,
            stdout: Some(stdout),
            stderr: Some(stderr),
        })
    }

    fn runtime_spawn(&self) -> io::Result<Child> {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let (place, rlimit) = (self.place, self.memory_rlimit);
        if place.is_some() || rlimit.is_some() {
            // SAFETY: between fork and exec the closure makes raw system calls only, on
            // stack values (async-signal-safe).
            unsafe {
                cmd.as_std_mut().pre_exec(move || {
                    if let Some(fd) = place {
                        place_self(fd).map_err(io::Error::from_raw_os_error)?;
                    }
                    if let Some(bytes) = rlimit {
                        let limit = libc::rlimit {
                            rlim_cur: bytes as libc::rlim_t,
                            rlim_max: bytes as libc::rlim_t,
                        };
                        if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("child exited before its pid was read"))?;
        let receiver = |fd: io::Result<OwnedFd>| fd.and_then(pipe::Receiver::from_owned_fd);
        let stdout = child.stdout.take().map(|o| receiver(o.into_owned_fd()));
        let stderr = child.stderr.take().map(|e| receiver(e.into_owned_fd()));
        Ok(Child {
            pid,
            exit: Exit::Runtime(child),
            stdout: stdout.transpose()?,
            stderr: stderr.transpose()?,
        })
    }
}

impl Child {
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for the child to exit and reaps it; returns its status and, where reaped here,
    /// what it used (its own and its waited-for children's CPU time, the largest resident size
    /// among them). Cancel-safe: dropped before the exit, it can be called again.
    pub async fn wait(&mut self) -> io::Result<(ExitStatus, Option<Usage>)> {
        match &mut self.exit {
            Exit::Reaped(status) => Ok((*status, None)),
            Exit::Runtime(child) => {
                let status = child.wait().await?;
                self.exit = Exit::Reaped(status);
                Ok((status, None))
            }
            Exit::Pidfd(fd) => {
                loop {
                    // Readable once the process has exited, and from then on.
                    let mut ready = fd.readable().await?;
                    match reap(fd.get_ref().as_raw_fd()) {
                        Ok(Some((status, usage))) => {
                            self.exit = Exit::Reaped(status);
                            return Ok((status, Some(usage)));
                        }
                        Ok(None) => ready.clear_ready(),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

/// Whether this kernel lets a pidfd be waited on (`waitid(P_PIDFD)`, Linux 5.4; `CLONE_PIDFD`
/// is 5.2): probed once, on jobod's own pid, which is no child of ours (ECHILD), where an
/// older kernel refuses the id type (EINVAL).
fn own_spawn_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        // SAFETY: pidfd_open takes a pid and flags; the result is a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id(), 0) };
        if fd < 0 {
            return false;
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: a zeroed siginfo is a valid out-value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with a live out-pointer; WNOHANG, and no child of ours is named.
        let rc = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                fd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
    })
}

/// Reaps the exited child of pidfd `fd`: its status and usage, or `None` while it runs.
fn reap(fd: RawFd) -> io::Result<Option<(ExitStatus, Usage)>> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: zeroed siginfo and rusage are valid out-values.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the raw waitid(P_PIDFD, fd, &info, options, &rusage), which unlike glibc's
    // wrapper also returns the usage, with live out-pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            libc::P_PIDFD,
            fd,
            &mut info as *mut libc::siginfo_t,
            libc::WEXITED | libc::WNOHANG,
            &mut ru as *mut libc::rusage,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful waitid, si_pid and si_status are set (0 while it runs).
    let (pid, code) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    // As a wait status: exit code in the second byte, else the signal (and the core flag).
    let raw = match info.si_code {
        libc::CLD_EXITED => (code & 0xff) << 8,
        libc::CLD_DUMPED => code | 0x80,
        _ => code,
    };
    let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
    let usage = Usage {
        // Kilobytes on Linux.
        peak_memory_bytes: Some(ru.ru_maxrss as u64 * 1024),
        cpu_ms: Some(ms(ru.ru_utime) + ms(ru.ru_stime)),
    };
    Ok(Some((ExitStatus::from_raw(raw), usage)))
}

/// Reaps child `pid` (blocking: it has exited or was just killed).
fn wait_pid(pid: i32) -> io::Result<()> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a live out-pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a NUL byte in a program's argument, environment or path",
        )
    })
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the live array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Our end of a pipe only: the child's end must stay blocking, as a program expects.
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with an integer argument.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The child's stack, for the moments between the clone and `execve`.
struct Stack {
    base: *mut libc::c_void,
}

impl Stack {
    /// The child's calls are a few frames of libc wrappers; the pages it does not touch are
    /// never made.
    const SIZE: usize = 64 * 1024;

    fn new() -> io::Result<Stack> {
        // SAFETY: an anonymous private mapping, owned by the returned value.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Stack { base })
    }

    /// Stacks grow down: the child starts at the top (page-aligned, so 16-byte aligned).
    fn top(&self) -> *mut libc::c_void {
        self.base.wrapping_byte_add(Self::SIZE)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer used (the child has exec'd or exited).
        unsafe { libc::munmap(self.base, Self::SIZE) };
    }
}

/// All the child reads, prepared by the parent: the child shares jobod's memory and must not
/// allocate (another thread may hold the allocator's lock) or take any lock.
struct ChildArgs {
    /// NUL-terminated arrays of pointers into the parent's `CString`s.
    paths: Vec<*const libc::c_char>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    cwd: CString,
    stdio: [RawFd; 3],
    place: Option<RawFd>,
    rlimit: Option<libc::rlimit>,
    /// Set by the child when a step fails, before it exits: read by the parent after the clone.
    errno: AtomicI32,
    step: AtomicU8,
}

/// The child, between the clone and `execve`. Only raw system calls through libc's thin
/// wrappers, on values prepared by the parent.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildArgs`, alive while the parent is suspended.
    let args = unsafe { &*(arg as *const ChildArgs) };
    let fail = |step: Step| -> libc::c_int {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        args.errno.store(errno.max(1), Ordering::Relaxed);
        args.step.store(step as u8, Ordering::Relaxed);
        // SAFETY: _exit ends this process at once (no atexit handlers: they are jobod's).
        unsafe { libc::_exit(127) }
    };
    // SAFETY: each call below takes plain values or pointers into `args`, and changes only
    // this process (CLONE_VM without CLONE_SIGHAND or CLONE_FILES: its own signal table,
    // descriptors and rlimits).
    unsafe {
        // jobod's handlers would run on this stack with jobod's memory; what it ignores, a
        // job should not inherit (SIGPIPE above all). Real-time signals have no handler of
        // jobod's that could reach this process: glibc's go to its own threads.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        if libc::setpgid(0, 0) != 0 {
            return fail(Step::Group);
        }
        if let Some(fd) = args.place
            && let Err(errno) = place_self(fd)
        {
            *libc::__errno_location() = errno;
            return fail(Step::Cgroup);
        }
        if let Some(limit) = &args.rlimit
            && libc::setrlimit(libc::RLIMIT_AS, limit) != 0
        {
            return fail(Step::Rlimit);
        }
        for (target, &fd) in (0..).zip(args.stdio.iter()) {
            // dup2 onto itself would leave close-on-exec set: clear it instead.
            let ok = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, target) >= 0
            };
            if !ok {
                return fail(Step::Stdio);
            }
        }
        if libc::chdir(args.cwd.as_ptr()) != 0 {
            return fail(Step::Chdir);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // As execvp: a missing candidate moves on; one that exists but cannot be run is
        // the error reported if no later one runs.
        let mut errno = libc::ENOENT;
        for path in args.paths.iter().take_while(|p| !p.is_null()) {
            libc::execve(*path, args.argv.as_ptr(), args.envp.as_ptr());
            let e = *libc::__errno_location();
            match e {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => errno = e,
                _ => {
                    errno = e;
                    break;
                }
            }
        }
        *libc::__errno_location() = errno;
        fail(Step::Exec)
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is open as `fd`; the errno
/// if it cannot. Async-signal-safe: raw system calls on stack values.
///
/// The kernel checks the opener's rights (Linux 5.16+): root's, also for a child that already
/// is the job's user. Before 5.16 it checks the writer's, so a child that is the job's user
/// takes root's effective uid back for the write, which its saved uid allows (see
/// src/as_user.rs), and gives it up again.
fn place_self(fd: RawFd) -> Result<(), libc::c_int> {
    let errno = || {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    // SAFETY: write, getresuid and setresuid on stack values.
    unsafe {
        let write = || libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
        if write() {
            return Ok(());
        }
        let refused = errno();
        let (mut r, mut e, mut s) = (0, 0, 0);
        if libc::getresuid(&mut r, &mut e, &mut s) != 0 || s != 0 || e == 0 {
            return Err(refused);
        }
        let minus = libc::uid_t::MAX;
        if libc::syscall(libc::SYS_setresuid, minus, 0, minus) != 0 {
            return Err(refused);
        }
        let placed = write();
        if libc::syscall(libc::SYS_setresuid, minus, e, minus) != 0 {
            return Err(errno());
        }
        if placed { Ok(()) } else { Err(refused) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Both ways of starting a child: the clone of ours, and the runtime's `Command`.
    const WAYS: [bool; 2] = [true, false];

    fn start(spec: &Spec, own: bool) -> io::Result<Child> {
        if own {
            assert!(own_spawn_works(), "this kernel waits on pidfds (5.4+)");
            spec.clone_vfork()
        } else {
            spec.runtime_spawn()
        }
    }

    async fn output(child: &mut Child) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        let (o, e) = (child.stdout.as_mut(), child.stderr.as_mut());
        let (r1, r2) = tokio::join!(
            o.expect("stdout").read_to_string(&mut out),
            e.expect("stderr").read_to_string(&mut err)
        );
        r1.expect("read stdout");
        r2.expect("read stderr");
        (out, err)
    }

    #[tokio::test]
    async fn a_child_gets_only_its_environment_directory_group_and_default_signals() {
        let dir = tempfile::tempdir().expect("temp dir");
        for own in WAYS {
            let mut spec = Spec::new("bash", dir.path());
            spec.arg("-c")
                .arg(
                    "echo \"$PWD $FOO ${HOME-unset}\"; ps -o pgid= -p $$; \
                     grep -E '^Sig(Blk|Ign)' /proc/self/status; read -r x || echo eof; \
                     echo to-stderr >&2; exit 3",
                )
                .env("PATH", "/nonexistent:/usr/bin:/bin")
                .env("FOO", "bar");
            let mut child = start(&spec, own).expect("spawn");
            let (out, err) = output(&mut child).await;
            let (status, usage) = child.wait().await.expect("wait");
            assert_eq!(status.code(), Some(3), "own {own}: {out}");
            let mut lines = out.lines();
            let first = format!("{} bar unset", dir.path().display());
            assert_eq!(lines.next(), Some(first.as_str()), "own {own}");
            assert_eq!(
                lines.next().map(str::trim),
                Some(child.id().to_string().as_str()),
                "own {own}: a process group of its own"
            );
            assert_eq!(lines.next(), Some("SigBlk:\t0000000000000000"), "own {own}");
            // The standard library resets SIGPIPE only; ours, every standard signal (1-31,
            // the low bits: real-time ones are left as inherited).
            let ign = lines.next().expect("SigIgn");
            let ign = u64::from_str_radix(ign.trim_start_matches("SigIgn:\t"), 16).expect("hex");
            if own {
                assert_eq!(ign & 0x7fff_ffff, 0, "{ign:x}");
            }
            assert_eq!(lines.next(), Some("eof"), "own {own}: stdin is /dev/null");
            assert_eq!(err, "to-stderr\n", "own {own}");
            assert_eq!(usage.is_some(), own, "own {own}: {usage:?}");
        }
    }

    #[tokio::test]
    async fn a_child_that_cannot_start_is_an_error_and_leaves_no_zombie() {
        let dir = tempfile::tempdir().expect("temp dir");
        for own in WAYS {
            let spec = Spec::new("/bin/true", dir.path().join("missing"));
            let e = start(&spec, own).err().expect("no such directory");
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "own {own}: {e}");
            let mut spec = Spec::new("no-such-program", dir.path());
            spec.env("PATH", "/nonexistent:/usr/bin");
            let e = start(&spec, own).err().expect("no such program");
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "own {own}: {e}");
        }
        // Every child above was reaped: none is left to wait for.
        // SAFETY: waitpid with WNOHANG and a live out-pointer.
        let rc = unsafe { libc::waitpid(-1, &mut 0, libc::WNOHANG) };
        assert!(rc <= 0, "a child left unreaped: {rc}");
    }

    #[tokio::test]
    async fn a_killed_child_reports_its_signal() {
        let dir = tempfile::tempdir().expect("temp dir");
        use std::os::unix::process::ExitStatusExt;
        for own in WAYS {
            let mut spec = Spec::new("/bin/sh", dir.path());
            spec.arg("-c").arg("kill -KILL $$");
            let mut child = start(&spec, own).expect("spawn");
            let (status, _) = child.wait().await.expect("wait");
            assert_eq!(status.signal(), Some(libc::SIGKILL), "own {own}");
        }
    }

    #[tokio::test]
    async fn a_busy_child_shows_its_cpu_and_memory() {
        // A 32 MiB string held by bash itself, and a second of CPU.
        let mut spec = Spec::new("/bin/bash", "/");
        spec.arg("-c").arg(
            "x=$(head -c 33554432 /dev/zero | tr '\\0' a); \
             end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do :; done",
        );
        let mut child = start(&spec, true).expect("spawn");
        let (status, usage) = child.wait().await.expect("wait");
        let usage = usage.expect("usage");
        assert!(status.success());
        assert!(usage.cpu_ms.expect("cpu") >= 300, "{usage:?}");
        assert!(
            usage.peak_memory_bytes.expect("memory") >= 30 << 20,
            "{usage:?}"
        );
    }

    #[tokio::test]
    async fn a_child_holds_its_memory_rlimit() {
        for own in WAYS {
            let mut spec = Spec::new("/bin/sh", "/");
            spec.arg("-c").arg("ulimit -v");
            spec.memory_rlimit = Some(512 << 20);
            let mut child = start(&spec, own).expect("spawn");
            let (out, _) = output(&mut child).await;
            child.wait().await.expect("wait");
            assert_eq!(out.trim(), (512 << 10).to_string(), "own {own}");
        }
    }
}
