//! The script validator's built-in rules: the old system's categories, each a few named,
//! word-bounded patterns matched against one logical line of `run.sh` (comments removed).
//!
//! A command name counts only in command position (start of a line, after `;`, `&`, `|`,
//! `(`, `$(`, a backquote, `then`, `do`, `else`, `exec`, `sudo`, `env`, …, optionally with an
//! absolute `/bin/`-style path and `VAR=value` assignments before it), so `cdo -f nc` (NetCDF)
//! or `--mode ssh` never count as netcat or ssh. The engine is in `mod.rs`; the samples each
//! rule must reject and the scientific scripts none may reject are in its tests.

/// What a rule guards against; `allow_rules` may name a category to skip all its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Destructive,
    Network,
    ReverseShell,
    PrivilegeEscalation,
    ContainerEscape,
    Obfuscation,
    Persistence,
    Miner,
    SecretAccess,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Destructive,
        Category::Network,
        Category::ReverseShell,
        Category::PrivilegeEscalation,
        Category::ContainerEscape,
        Category::Obfuscation,
        Category::Persistence,
        Category::Miner,
        Category::SecretAccess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Destructive => "destructive",
            Category::Network => "network",
            Category::ReverseShell => "reverse-shell",
            Category::PrivilegeEscalation => "privilege-escalation",
            Category::ContainerEscape => "container-escape",
            Category::Obfuscation => "obfuscation",
            Category::Persistence => "persistence",
            Category::Miner => "miner",
            Category::SecretAccess => "secret-access",
        }
    }
}

/// One named pattern.
pub struct Rule {
    pub name: &'static str,
    pub category: Category,
    /// What a match means, for the rejection message.
    pub why: &'static str,
    pub pattern: &'static str,
}

/// A pattern that matches `$names` (an alternation) in command position, followed by the end
/// of the word.
macro_rules! cmd {
    ($names:literal) => {
        concat!(
            r"(?:^|[;&|(`]|\$\(|\b(?:then|do|else|exec|nohup|time|xargs|sudo|command|env|doas)\s)\s*",
            r"(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*",
            r"(?:(?:/usr)?(?:/local)?/s?bin/)?(?:",
            $names,
            r")(?:$|[\s;&|)`])"
        )
    };
    ($names:literal, $rest:literal) => {
        concat!(
            r"(?:^|[;&|(`]|\$\(|\b(?:then|do|else|exec|nohup|time|xargs|sudo|command|env|doas)\s)\s*",
            r"(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*",
            r"(?:(?:/usr)?(?:/local)?/s?bin/)?(?:",
            $names,
            r")(?:\s",
            $rest,
            ")"
        )
    };
}

/// A shell at the end of a pipe: `| sh`, `| sudo bash -s`, `| /bin/zsh`.
macro_rules! to_shell {
    () => {
        r"\|\s*(?:sudo\s+)?(?:(?:/usr)?(?:/local)?/bin/)?(?:ba|z|k|da)?sh(?:\s+-s\b.*)?\s*(?:$|[;&|)])"
    };
}

use Category::*;

pub const RULES: &[Rule] = &[
    // Destructive commands.
    Rule {
        name: "rm-system",
        category: Destructive,
        why: "removes /, a system directory or the home directory",
        pattern: cmd!(
            "rm",
            r#"(?:.*\s)?["']?(?:/|/\*|~/?\*?|\$\{?HOME\}?/?\*?|/(?:bin|boot|dev|etc|home|lib|lib32|lib64|opt|proc|root|run|sbin|srv|sys|usr|var)/?\*?)["']?(?:$|[\s;&|)])"#
        ),
    },
    Rule {
        name: "no-preserve-root",
        category: Destructive,
        why: "disables rm's protection of /",
        pattern: r"--no-preserve-root\b",
    },
    Rule {
        name: "disk-format",
        category: Destructive,
        why: "formats or repartitions a disk",
        pattern: cmd!(r"mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs|fdisk|sfdisk|cfdisk|parted"),
    },
    Rule {
        name: "write-block-device",
        category: Destructive,
        why: "writes to a disk device",
        pattern: r"(?:\bof=|>\s*)/dev/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|mapper/|disk/)",
    },
    Rule {
        name: "fork-bomb",
        category: Destructive,
        why: "a fork bomb",
        pattern: r":\s*\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}",
    },
    Rule {
        name: "shutdown",
        category: Destructive,
        why: "shuts the machine down or reboots it",
        pattern: cmd!(r"shutdown|reboot|poweroff|halt"),
    },
    // Reverse shells.
    Rule {
        name: "dev-tcp",
        category: ReverseShell,
        why: "a connection through bash's /dev/tcp or /dev/udp",
        pattern: r"/dev/(?:tcp|udp)/",
    },
    Rule {
        name: "netcat-exec",
        category: ReverseShell,
        why: "netcat running a program for the other end",
        pattern: cmd!(r"nc|ncat|netcat", r"(?:.*\s)?-\w*[ec]\b"),
    },
    Rule {
        name: "socat-exec",
        category: ReverseShell,
        why: "socat running a program for the other end",
        pattern: cmd!("socat", r".*(?i:exec|system):"),
    },
    Rule {
        name: "interactive-shell",
        category: ReverseShell,
        why: "an interactive shell in a batch job",
        pattern: cmd!(r"(?:ba|z|k|da|c|tc)?sh", r"(?:-\w+\s+)*-\w*i\b"),
    },
    Rule {
        name: "script-socket",
        category: ReverseShell,
        why: "inline interpreter code opening a socket or a pty",
        pattern: cmd!(
            r"python[\d.]*|perl|ruby|php|lua|node",
            r"(?:.*\s)?-\w*[ecr]\b.*(?:\bsocket\b|fsockopen|TCPSocket|net\.connect|pty\.spawn)"
        ),
    },
    // Network tools: data can leave (or arrive) through them. Services that fetch data
    // allow this rule (`allow_rules = ["network-tool"]`).
    Rule {
        name: "network-tool",
        category: Network,
        why: "a network transfer tool (allow it per service with allow_rules)",
        pattern: cmd!(r"curl|wget|nc|ncat|netcat|socat|telnet|ftp|tftp|lftp|scp|sftp|ssh"),
    },
    Rule {
        name: "rsync-remote",
        category: Network,
        why: "rsync to or from another host",
        pattern: cmd!("rsync", r"(?:.*\s)?(?:(?:[\w.-]+@)?[\w.-]+:|rsync://)"),
    },
    // Privilege escalation.
    Rule {
        name: "sudo",
        category: PrivilegeEscalation,
        why: "runs a command as another user",
        pattern: cmd!(r"sudo|su|doas|pkexec|runuser"),
    },
    Rule {
        name: "setuid-bit",
        category: PrivilegeEscalation,
        why: "sets the setuid or setgid bit",
        pattern: cmd!(
            "chmod",
            r"(?:-\S+\s+)*(?:(?:[ugoa]*[ua][ugoa]*)?[+=][rwxXt]*s[rwxXt]*|[4-7][0-7]{3})(?:$|[\s;&|)])"
        ),
    },
    Rule {
        name: "capabilities",
        category: PrivilegeEscalation,
        why: "gives a file capabilities",
        pattern: cmd!("setcap"),
    },
    Rule {
        name: "accounts",
        category: PrivilegeEscalation,
        why: "changes users, groups or sudo rights",
        pattern: concat!(
            r">>?\s*/etc/(?:passwd|shadow|group|gshadow|sudoers)\b|/etc/sudoers\.d\b|",
            cmd!(r"useradd|usermod|userdel|adduser|groupadd|visudo|chpasswd|passwd")
        ),
    },
    // Container and host escape.
    Rule {
        name: "namespace-tools",
        category: ContainerEscape,
        why: "enters or makes namespaces, or changes root",
        pattern: cmd!(r"nsenter|unshare|chroot|capsh"),
    },
    Rule {
        name: "privileged-container",
        category: ContainerEscape,
        why: "a container with host privileges",
        pattern: cmd!(
            r"docker|podman|nerdctl",
            r"(?:.*\s)?(?:--privileged\b|--(?:pid|ipc|uts|userns|cgroupns)[= ]host\b|--cap-add[= ]?(?:ALL|SYS_ADMIN|SYS_PTRACE|SYS_MODULE|DAC_READ_SEARCH)\b|--security-opt[= ]?(?:apparmor|seccomp|label)[=:](?:unconfined|disable)\b|--device[= ]/dev/(?:sd|nvme|mem|kmem))"
        ),
    },
    Rule {
        name: "host-root-mount",
        category: ContainerEscape,
        why: "mounts the host's root into a container",
        pattern: cmd!(
            r"docker|podman|nerdctl",
            r#".*(?:(?:\s-v|--volume)[= ]?["']?/:|(?:source|src)=/(?:,|\s|$))"#
        ),
    },
    Rule {
        name: "container-socket",
        category: ContainerEscape,
        why: "the container runtime's socket (root on the host)",
        pattern: r"/(?:var/)?run/(?:docker|containerd/containerd|podman/podman|crio/crio)\.sock\b",
    },
    Rule {
        name: "host-kernel",
        category: ContainerEscape,
        why: "host kernel interfaces used to escape",
        pattern: r"/proc/1/(?:root|ns|cwd)\b|/proc/sysrq-trigger|/proc/sys/kernel/core_pattern|/sys/kernel/(?:uevent_helper|core_pattern)|\brelease_agent\b|\bnotify_on_release\b",
    },
    Rule {
        name: "kernel-module",
        category: ContainerEscape,
        why: "loads or removes a kernel module",
        pattern: cmd!(r"insmod|rmmod|modprobe"),
    },
    // Obfuscated execution.
    Rule {
        name: "decode-exec",
        category: Obfuscation,
        why: "decoded text run as code",
        pattern: concat!(
            r"\b(?:base64|base32|xxd|openssl|uudecode)\b.*",
            r"\|\s*(?:sudo\s+)?(?:(?:/usr)?(?:/local)?/bin/)?(?:(?:ba|z|k|da)?sh|python[\d.]*|perl|ruby|php)\b"
        ),
    },
    Rule {
        name: "pipe-to-shell",
        category: Obfuscation,
        why: "text piped into a shell",
        pattern: to_shell!(),
    },
    Rule {
        name: "eval-decoded",
        category: Obfuscation,
        why: "eval of decoded or escaped text",
        pattern: r"\beval\b.*(?:\bbase64\b|\bbase32\b|\bxxd\b|\\x[0-9a-fA-F]{2}|\brev\b)",
    },
    Rule {
        name: "inline-code-exec",
        category: Obfuscation,
        why: "inline interpreter code that runs commands or decodes code",
        pattern: concat!(
            cmd!(r"python[\d.]*|perl|ruby|php|node", r"(?:\S+\s+)*?-[ecr]\s"),
            r".*(?:\bexec\b|\beval\b|__import__|b64decode|decodebytes|\bsystem\b|\bpopen\b|\bsubprocess\b|\bpty\b|child_process)"
        ),
    },
    Rule {
        name: "hex-escapes",
        category: Obfuscation,
        why: "a long hex-escaped string",
        pattern: r"(?:\\x[0-9a-fA-F]{2}){8,}",
    },
    // Persistence.
    Rule {
        name: "cron",
        category: Persistence,
        why: "schedules commands with cron",
        pattern: concat!(cmd!("crontab"), r"|/etc/cron|/var/spool/cron"),
    },
    Rule {
        name: "services",
        category: Persistence,
        why: "installs or controls system services",
        pattern: concat!(
            cmd!(r"systemctl|service|update-rc\.d|chkconfig|launchctl"),
            r"|/etc/systemd/|/etc/init\.d/|/etc/rc\.local|/lib/systemd/system|\.config/systemd/"
        ),
    },
    Rule {
        name: "login-scripts",
        category: Persistence,
        why: "changes shell start-up files or the dynamic loader's preload list",
        pattern: r">>?\s*(?:~|\$\{?HOME\}?|/root|/home/[^/\s]+)/\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile)\b|/etc/(?:profile|bash\.bashrc|environment)\b|/etc/ld\.so\.preload",
    },
    Rule {
        name: "ssh-keys",
        category: Persistence,
        why: "adds ssh login keys",
        pattern: r"\.ssh/authorized_keys",
    },
    // Crypto miners.
    Rule {
        name: "miner-binary",
        category: Miner,
        why: "a cryptocurrency miner",
        // Names no other program has: anywhere as a word, behind any path.
        pattern: r#"(?i)(?:^|[\s/;&|(`'"=])(?:xmrig|xmr-stak\S*|minerd|cpuminer\S*|cgminer|bfgminer|ethminer|nbminer|t-rex|lolminer|phoenixminer|nanominer|ccminer|gminer|teamredminer|srbminer\S*)(?:$|[\s;&|)`'"])"#,
    },
    Rule {
        name: "mining-pool",
        category: Miner,
        why: "a mining pool",
        pattern: r"(?i)stratum\+(?:tcp|ssl|tls)://|--donate-level\b|\b(?:nanopool|minexmr|supportxmr|moneroocean|hashvault|2miners|f2pool|nicehash|c3pool|herominers|unmineable)\.(?:org|com|net|pro|io|stream)\b",
    },
    // Secret access.
    Rule {
        name: "proc-environ",
        category: SecretAccess,
        why: "reads another process's environment",
        pattern: r"/proc/(?:self|\d+|\$\$|\$\{?\w+\}?|\*)/environ\b",
    },
    Rule {
        name: "credential-files",
        category: SecretAccess,
        why: "reads a user's credentials",
        pattern: r"(?:~|\$\{?HOME\}?|/root|/home/[^/\s]+)/\.(?:aws/credentials|ssh/id_\w+|kube/config|docker/config\.json|netrc|pgpass|git-credentials|gnupg|config/gcloud)",
    },
    Rule {
        name: "system-secrets",
        category: SecretAccess,
        why: "reads the system's secrets (password hashes, host keys, jobo's own files)",
        pattern: r"/etc/(?:shadow|gshadow)\b|/etc/ssh/ssh_host_\w*key|/etc/jobo/|/var/lib/jobo\b",
    },
    Rule {
        name: "cloud-metadata",
        category: SecretAccess,
        why: "the cloud metadata service (instance credentials)",
        pattern: r"169\.254\.169\.254|metadata\.google\.internal|100\.100\.100\.200|fd00:ec2::254",
    },
    Rule {
        name: "mounted-secrets",
        category: SecretAccess,
        why: "secrets mounted for services (Kubernetes, Docker)",
        pattern: r"/(?:var/)?run/secrets/",
    },
];
